package jsonvalue

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestPlainNumbers(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"i": 3, "big": 4611686018427387905, "f": 0.25, "e": 1e21, "l": [1, "x", {"n": -2}]}`))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": int64(3), "big": int64(1<<62 + 1), "f": 0.25, "e": 1e21, "l": []any{int64(1), "x", map[string]any{"n": int64(-2)}}}
	if got := PlainNumbers(v); !reflect.DeepEqual(got, want) {
		t.Fatalf("PlainNumbers = %#v\nwant %#v", got, want)
	}
}
