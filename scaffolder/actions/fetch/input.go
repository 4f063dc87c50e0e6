package fetch

import (
	"fmt"
	"strings"

	"github.com/paved-dev/paved"
)

// decodeTemplateInput reads fetch:template's input as Backstage's schema
// does, every problem named by its field.
func decodeTemplateInput(input map[string]any) (templateInput, error) {
	var d paved.Details
	in := templateInput{TargetPath: "./"}
	in.URL = str(input, "url", &d)
	if in.URL == "" && input["url"] == nil {
		d.Add("input.url", "is required")
	}
	if t := str(input, "targetPath", &d); t != "" {
		in.TargetPath = t
	}
	if v, ok := input["values"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			d.Add("input.values", "must be an object")
		}
		in.Values = m
	}
	if in.Values == nil {
		in.Values = map[string]any{}
	}
	if v, ok := input["copyWithoutTemplating"]; ok {
		list, ok := v.([]any)
		if !ok {
			d.Add("input.copyWithoutTemplating", "must be an array")
		}
		for i, p := range list {
			s, ok := p.(string)
			if !ok {
				d.Add(fmt.Sprintf("input.copyWithoutTemplating[%d]", i), "must be a string")
			}
			in.CopyWithoutTemplating = append(in.CopyWithoutTemplating, s)
		}
	}
	in.CookiecutterCompat = flag(input, "cookiecutterCompat", &d)
	in.Replace = flag(input, "replace", &d)
	in.TrimBlocks = flag(input, "trimBlocks", &d)
	in.LstripBlocks = flag(input, "lstripBlocks", &d)
	switch ext := input["templateFileExtension"].(type) {
	case nil:
	case bool:
		if ext {
			in.Extension = ".njk"
		}
	case string:
		if ext != "" {
			in.Extension = "." + strings.TrimPrefix(ext, ".")
		}
	default:
		d.Add("input.templateFileExtension", "must be true or a file extension")
	}
	if in.Extension != "" && (in.CopyWithoutTemplating != nil || in.CookiecutterCompat) {
		d.Add("input.templateFileExtension", "cannot be combined with copyWithoutTemplating or cookiecutterCompat")
	}
	return in, d.Err("invalid fetch:template input")
}

func str(input map[string]any, key string, d *paved.Details) string {
	v, ok := input[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.Add("input."+key, "must be a string")
	}
	return s
}

func flag(input map[string]any, key string, d *paved.Details) bool {
	v, ok := input[key]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.Add("input."+key, "must be true or false")
	}
	return b
}
