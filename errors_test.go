package paved_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/paved-dev/paved"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		Name string
		Err  error
		Want paved.Code
	}{
		{"Nil", nil, ""},
		{"Plain", io.EOF, paved.CodeInternal},
		{"Direct", paved.Errorf(paved.CodeNotFound, "entity %q not found", "x"), paved.CodeNotFound},
		{"Wrapped", fmt.Errorf("loading: %w", paved.Invalid("bad")), paved.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			if got := paved.ErrorCode(tt.Err); got != tt.Want {
				t.Fatalf("ErrorCode() = %q, want %q", got, tt.Want)
			}
		})
	}
}

func TestErrorfKeepsCause(t *testing.T) {
	err := paved.Errorf(paved.CodeUnavailable, "database at %s: %w", "db:5432", io.ErrUnexpectedEOF)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("errors.Is(%v, io.ErrUnexpectedEOF) = false", err)
	}
	if want := "database at db:5432: unexpected EOF"; err.Message != want {
		t.Fatalf("Message = %q, want %q", err.Message, want)
	}
}

func TestErrorMessageHidesInternals(t *testing.T) {
	if got := paved.ErrorMessage(errors.New("pq: password leaked")); got != "internal error" {
		t.Fatalf("ErrorMessage(plain) = %q", got)
	}
	err := paved.Invalid("bad config", paved.Detail{Field: "listen", Line: 3, Reason: "missing port"})
	if got, want := err.Error(), "bad config; listen (line 3): missing port"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
