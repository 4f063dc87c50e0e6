// Package catalog is the scaffolder's catalog actions: catalog:write
// writes the new component's descriptor into the workspace.
package catalog

import (
	"bytes"
	"context"
	"io/fs"
	"path"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder"
)

// Write is catalog:write.
type Write struct{}

// ID is the action's name in templates.
func (Write) ID() string { return "catalog:write" }

// Description says what the action does.
func (Write) Description() string {
	return "Write a catalog entity descriptor (catalog-info.yaml) into the workspace"
}

// SupportsDryRun: it only writes into the workspace.
func (Write) SupportsDryRun() bool { return true }

// Replayable: it writes only the workspace.
func (Write) Replayable() bool { return true }

// Run writes input.entity as YAML to input.filePath (default
// catalog-info.yaml), annotated with the template it came from
// (backstage.io/source-template), as Backstage does.
func (Write) Run(_ context.Context, call *scaffolder.Call) (map[string]any, error) {
	entity, ok := call.Input["entity"].(map[string]any)
	if !ok {
		return nil, paved.Invalid("invalid catalog:write input", paved.Detail{Field: "input.entity", Reason: "is required: an object"})
	}
	file := "catalog-info.yaml"
	if v, ok := call.Input["filePath"]; ok && v != nil {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, paved.Invalid("invalid catalog:write input", paved.Detail{Field: "input.filePath", Reason: "must be a path"})
		}
		file = s
	}
	p := path.Clean(file)
	if !fs.ValidPath(p) || p == "." {
		return nil, paved.Invalid("invalid catalog:write input", paved.Detail{Field: "input.filePath", Reason: "must stay inside the workspace"})
	}
	out := withSourceTemplate(entity, call.Template)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(toNode(out, "")); err != nil {
		return nil, paved.Invalid("invalid catalog:write input", paved.Detail{Field: "input.entity", Reason: err.Error()})
	}
	if d := path.Dir(p); d != "." {
		if err := call.Workspace.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return map[string]any{}, call.Workspace.WriteFile(p, buf.Bytes(), 0o644)
}

// sourceTemplate is the annotation Backstage adds, last.
const sourceTemplate = "backstage.io/source-template"

// toNode is v as a YAML node with sorted keys (the template's own key
// order is not kept), except that Backstage's source-template annotation
// comes last in metadata.annotations, where Backstage appends it.
func toNode(v any, at string) *yaml.Node {
	m, ok := v.(map[string]any)
	if !ok {
		if list, ok := v.([]any); ok {
			n := &yaml.Node{Kind: yaml.SequenceNode}
			for _, item := range list {
				n.Content = append(n.Content, toNode(item, at+"[]"))
			}
			return n
		}
		var n yaml.Node
		_ = n.Encode(v)
		return &n
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !(at == ".metadata.annotations" && k == sourceTemplate) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := m[sourceTemplate]; ok && at == ".metadata.annotations" {
		keys = append(keys, sourceTemplate)
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range keys {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, toNode(m[k], at+"."+k))
	}
	return n
}

// withSourceTemplate adds backstage.io/source-template to a copy of the
// entity when the template is known.
func withSourceTemplate(entity map[string]any, ref string) map[string]any {
	if ref == "" {
		return entity
	}
	out := make(map[string]any, len(entity))
	for k, v := range entity {
		out[k] = v
	}
	meta := map[string]any{}
	if m, ok := entity["metadata"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	ann := map[string]any{}
	if a, ok := meta["annotations"].(map[string]any); ok {
		for k, v := range a {
			ann[k] = v
		}
	}
	ann[sourceTemplate] = ref
	meta["annotations"] = ann
	out["metadata"] = meta
	return out
}

// Schema describes the input and output.
func (Write) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object([]string{"entity"}, map[string]any{
		"entity":   scaffolder.Prop("object", "the entity to write"),
		"filePath": scaffolder.Prop("string", "where in the workspace (default catalog-info.yaml)"),
	}), Output: scaffolder.Object(nil, map[string]any{})}
}
