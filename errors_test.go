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

func TestDetailString(t *testing.T) {
	for _, tt := range []struct {
		Name   string
		Detail paved.Detail
		Want   string
	}{
		{"ReasonOnly", paved.Detail{Reason: "empty"}, "empty"},
		{"Field", paved.Detail{Field: "team", Reason: "is required"}, "team: is required"},
		{"Line", paved.Detail{Line: 4, Reason: "tab"}, "line 4: tab"},
		{"FieldLineColumn", paved.Detail{Field: "a.rego", Line: 3, Column: 6, Reason: "undefined function f"}, "a.rego (line 3, column 6): undefined function f"},
	} {
		t.Run(tt.Name, func(t *testing.T) {
			if got := tt.Detail.String(); got != tt.Want {
				t.Errorf("String() = %q, want %q", got, tt.Want)
			}
		})
	}
}

// WithPayload keeps the cause's classification, wording and details, and
// hides an internal cause's message as ErrorMessage does.
func TestWithPayload(t *testing.T) {
	cause := fmt.Errorf("apply: %w", paved.Invalid("bad request", paved.Detail{Field: "team", Reason: "is required"}))
	err := paved.WithPayload(cause, map[string]int{"applied": 2})
	if err.Code != paved.CodeInvalid || err.Message != "bad request" || len(err.Details) != 1 || !errors.Is(err, cause) {
		t.Errorf("WithPayload = %+v", err)
	}
	if got, want := err.Error(), "apply: bad request; team: is required"; got != want {
		t.Errorf("Error() = %q, want %q (the cause, not repeated)", got, want)
	}
	internal := paved.WithPayload(errors.New("etcd: leader changed"), nil)
	if internal.Code != paved.CodeInternal || internal.Message != "internal error" || paved.ErrorMessage(internal) != "internal error" {
		t.Errorf("internal cause: %+v", internal)
	}
}
