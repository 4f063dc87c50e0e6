// Package paved holds what every part of Paved shares: the small error
// vocabulary that domain packages return and the HTTP layer maps to status
// codes once.
package paved

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code classifies an error for callers. The HTTP layer maps each code to one
// status; the CLI maps them to messages. Keep the set small.
type Code string

// The error codes. Their string values appear in API responses as
// error.code and are part of the public API.
const (
	CodeInvalid Code = "invalid"
	// CodeUnprocessable is well-formed input that fails validation, such as
	// an entity that breaks the descriptor schema.
	CodeUnprocessable Code = "unprocessable"
	CodeNotFound      Code = "not_found"
	CodeConflict      Code = "conflict"
	CodeUnauthorized  Code = "unauthorized"
	CodeForbidden     Code = "forbidden"
	CodeTooLarge      Code = "too_large"
	// CodeUnsupportedMedia is a body in a format the route does not read.
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeUnavailable      Code = "unavailable"
	CodeInternal         Code = "internal"
)

// Error is an error meant to be shown to the person or tool that caused it.
// Message is safe to show; internals stay in wrapped errors, which are logged
// and never sent to clients.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	// Payload is more of the answer, sent beside the error: the fields of
	// its JSON object join "error" at the top of the response body (the
	// objects a refused request had applied, a policy version's failed
	// tests, Backstage's "errors" list). It is sent even for internal
	// errors, so it must hold nothing secret.
	Payload any
	// Err is the underlying cause, kept for logs and errors.Is/As.
	Err error
}

// Detail points at one part of the input that was wrong.
type Detail struct {
	// Field names the input field, in the caller's terms (a JSON path, a
	// flag name, a YAML key).
	Field string `json:"field,omitempty"`
	// Line is the 1-based line in a submitted document, when known.
	Line int `json:"line,omitempty"`
	// Column is the 1-based column on Line, when known.
	Column int `json:"column,omitempty"`
	// Reason says what is wrong with the field, in a sentence fragment.
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	msg := e.Message
	for _, d := range e.Details {
		msg += "; " + d.String()
	}
	// Errorf spells the cause into Message, and WithPayload copies the
	// cause's message and details: the cause is added only when the error
	// was built by hand with a separate one.
	switch {
	case e.Err == nil || strings.HasSuffix(msg, e.Err.Error()):
		return msg
	case strings.Contains(e.Err.Error(), msg):
		return e.Err.Error()
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func (d Detail) String() string {
	at := ""
	switch {
	case d.Line > 0 && d.Column > 0:
		at = fmt.Sprintf("line %d, column %d", d.Line, d.Column)
	case d.Line > 0:
		at = fmt.Sprintf("line %d", d.Line)
	}
	switch {
	case d.Field != "" && at != "":
		return fmt.Sprintf("%s (%s): %s", d.Field, at, d.Reason)
	case d.Field != "":
		return d.Field + ": " + d.Reason
	case at != "":
		return at + ": " + d.Reason
	}
	return d.Reason
}

// Errorf returns an *Error with the given code and a formatted message. A %w
// verb in format is kept as the cause.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Details collects what is wrong with an input, field by field, for a
// Validate method that reports every problem at once.
type Details []Detail

// Add records that field is wrong, for the formatted reason.
func (d *Details) Add(field, format string, args ...any) {
	*d = append(*d, Detail{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// PositiveDuration records field unless v is above zero.
func (d *Details) PositiveDuration(field string, v time.Duration) {
	if v <= 0 {
		d.Add(field, "%s is not a positive duration such as 30s or 1m", v)
	}
}

// Err returns a CodeInvalid error with message and the details, or nil
// when nothing was recorded.
func (d Details) Err(message string) error {
	if len(d) == 0 {
		return nil
	}
	return Invalid(message, d...)
}

// WithPayload returns err, classified and worded as before (its code,
// message and details), carrying payload to the response as well.
func WithPayload(err error, payload any) *Error {
	out := &Error{Code: ErrorCode(err), Message: ErrorMessage(err), Payload: payload, Err: err}
	var pe *Error
	if errors.As(err, &pe) && pe.Code != CodeInternal {
		out.Details = pe.Details
	}
	return out
}

// Invalid returns a CodeInvalid error with one detail per wrong field.
func Invalid(message string, details ...Detail) *Error {
	return &Error{Code: CodeInvalid, Message: message, Details: details}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the message that is safe to show for err: the message
// of the first *Error in its chain, or "internal error" otherwise.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != CodeInternal {
		return e.Message
	}
	return "internal error"
}
