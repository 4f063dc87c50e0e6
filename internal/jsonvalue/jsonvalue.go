// Package jsonvalue converts between the JSON values encoding/json
// decodes with UseNumber and the ones Paved keeps: YAML decoding gives
// int64 for integers and float64 for other numbers, and a value read back
// from JSON must be the one that was written.
package jsonvalue

import (
	"encoding/json"
	"strconv"
)

// PlainNumbers turns the json.Numbers of a decoded value into int64 (when
// they are integers that fit) or float64, in place, and returns it.
func PlainNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			t[k] = PlainNumbers(c)
		}
	case []any:
		for i, c := range t {
			t[i] = PlainNumbers(c)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(t), 64)
		return f
	}
	return v
}
