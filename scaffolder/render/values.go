package render

import (
	"math"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// The template engine is Jinja (gonja); Backstage's templates are
// Nunjucks, which prints and looks up values the JavaScript way. Values
// given to a template are wrapped in the types below so that they render
// as Backstage renders them (true, not True; a,b for a list) and so that a
// missing attribute is undefined, not an error: `${{ github.sha }}` in a
// skeleton is an empty string on Backstage.

// object is a JSON object in a template's scope.
type object map[string]any

// GetAttribute makes obj.key of a missing key undefined.
func (o object) GetAttribute(name string) (*exec.Value, bool) { return o.lookup(name) }

// GetItem makes obj['key'] of a missing key undefined.
func (o object) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(undefined("")), true
	}
	return o.lookup(name)
}

func (o object) lookup(name string) (*exec.Value, bool) {
	v, ok := o[name]
	if !ok {
		return exec.AsValue(undefined("")), true
	}
	return exec.AsValue(v), true
}

// String is JavaScript's String({...}).
func (o object) String() string { return "[object Object]" }

// list is a JSON array in a template's scope.
type list []any

// String is JavaScript's Array.prototype.toString: elements joined by
// commas, null and undefined as empty strings.
func (l list) String() string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = jsString(v)
	}
	return strings.Join(parts, ",")
}

// boolean prints as JavaScript does.
type boolean bool

func (b boolean) String() string { return strconv.FormatBool(bool(b)) }

// number is a JSON number that is not an integer, printed as JavaScript
// prints it.
type number float64

func (n number) String() string { return formatNumber(float64(n)) }

// undefined is what a missing name or attribute evaluates to: it prints as
// an empty string, is false, and any attribute of it is undefined too.
// It is a string type so that gonja treats it as an empty, false value.
type undefined string

func (undefined) GetAttribute(string) (*exec.Value, bool) { return exec.AsValue(undefined("")), true }
func (undefined) GetItem(any) (*exec.Value, bool)         { return exec.AsValue(undefined("")), true }

// wrap turns plain JSON values into the template's types, deeply.
func wrap(v any) any {
	switch t := v.(type) {
	case map[string]any:
		o := make(object, len(t))
		for k, c := range t {
			o[k] = wrap(c)
		}
		return o
	case []any:
		l := make(list, len(t))
		for i, c := range t {
			l[i] = wrap(c)
		}
		return l
	case bool:
		return boolean(t)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
		return number(t)
	}
	return v
}

// unwrap turns a template value back into plain JSON values; ok is false
// for undefined, which Backstage drops.
func unwrap(v any) (any, bool) {
	switch t := v.(type) {
	case undefined:
		return nil, false
	case object:
		m := make(map[string]any, len(t))
		for k, c := range t {
			if u, ok := unwrap(c); ok {
				m[k] = u
			}
		}
		return m, true
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, c := range t {
			if u, ok := unwrap(c); ok {
				m[k] = u
			}
		}
		return m, true
	case list:
		return unwrapList(t), true
	case []any:
		return unwrapList(t), true
	case boolean:
		return bool(t), true
	case number:
		return float64(t), true
	case int:
		return int64(t), true
	case *exec.Value:
		return unwrap(t.Interface())
	}
	return v, true
}

func unwrapList(l []any) []any {
	out := make([]any, len(l))
	for i, c := range l {
		out[i], _ = unwrap(c) // JSON.stringify writes undefined in an array as null
	}
	return out
}

// jsString is String(v) for an element of an array.
func jsString(v any) string {
	switch t := v.(type) {
	case nil, undefined:
		return ""
	case string:
		return t
	case interface{ String() string }:
		return t.String()
	case int64:
		return strconv.FormatInt(t, 10)
	case int:
		return strconv.Itoa(t)
	case float64:
		return formatNumber(t)
	}
	return ""
}

// formatNumber is JavaScript's Number.prototype.toString for finite
// numbers: the shortest representation, exponent from 1e21 and below
// 1e-6.
func formatNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs >= 1e21 || abs < 1e-6) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes 1e+21 and 1e-07; JavaScript 1e+21 and 1e-7.
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[:1]
		digits := strings.TrimLeft(exp[1:], "0")
		return mant + "e" + sign + digits
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
