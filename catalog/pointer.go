package catalog

import (
	"strconv"
	"strings"
)

// lookupPointer returns the value at a JSON pointer in v, or nil.
func lookupPointer(v any, pointer string) any {
	if pointer == "" {
		return v
	}
	for _, part := range strings.Split(pointer[1:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch t := v.(type) {
		case map[string]any:
			v = t[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}
