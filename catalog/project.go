package catalog

import "strings"

// Project keeps only the dotted paths in fields ("metadata.name",
// "spec.type", "relations"), as Backstage's fields parameter does. No fields
// keeps everything.
func Project(raw Raw, fields []string) Raw {
	if len(fields) == 0 || raw == nil {
		return raw
	}
	out := Raw{}
	for _, f := range fields {
		parts := strings.Split(strings.TrimSpace(f), ".")
		copyPath(map[string]any(raw), map[string]any(out), parts)
	}
	return out
}

func copyPath(src, dst map[string]any, parts []string) {
	v, ok := src[parts[0]]
	if !ok {
		return
	}
	if len(parts) == 1 {
		dst[parts[0]] = v
		return
	}
	child, isMap := v.(map[string]any)
	if !isMap {
		return
	}
	next, _ := dst[parts[0]].(map[string]any)
	if next == nil {
		next = map[string]any{}
		dst[parts[0]] = next
	}
	copyPath(child, next, parts[1:])
}
