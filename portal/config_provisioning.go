package portal

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// provisioningKey is the config file's one structured section: the
// environments, their profiles and the named clusters do not fit flags.
const provisioningKey = "provisioning"

// decodeProvisioning reads the provisioning: section of the config file
// over the defaults. Unknown keys are errors with their line, like the
// flat settings.
func decodeProvisioning(s *provision.Settings, path string, data []byte) error {
	var file struct {
		Provisioning *provision.Settings `yaml:"provisioning"`
		Rest         map[string]any      `yaml:",inline"` // the flat settings, checked elsewhere
	}
	file.Provisioning = s
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&file)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		details := make([]paved.Detail, len(te.Errors))
		for i, msg := range te.Errors {
			details[i] = yamlDetail(path+": "+provisioningKey, msg)
		}
		return paved.Invalid("invalid configuration", details...)
	}
	if err != nil {
		return paved.Invalid("config file "+path+" is not valid YAML", paved.Detail{Reason: err.Error()})
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlDetail turns yaml's "line 7: field x not found in type
// provision.Profile" into a detail with the line and a reason in the
// file's terms.
func yamlDetail(field, msg string) paved.Detail {
	d := paved.Detail{Field: field, Reason: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		d.Line, _ = strconv.Atoi(m[1])
		d.Reason = m[2]
	}
	if i := strings.Index(d.Reason, " not found in type "); i > 0 {
		d.Reason = d.Reason[:i] + " is not a provisioning setting"
	}
	return d
}

// withLines adds to each detail of a settings error the line of its field
// in the config file, when the field is there.
func withLines(err error, path string, root *yaml.Node) error {
	var pe *paved.Error
	if !errors.As(err, &pe) || root == nil {
		return err
	}
	out := *pe
	out.Details = make([]paved.Detail, len(pe.Details))
	for i, d := range pe.Details {
		if line := lineOf(root, d.Field); line > 0 {
			d.Line = line
			d.Field = path + ": " + d.Field
		}
		out.Details[i] = d
	}
	return &out
}

var indexPrefix = regexp.MustCompile(`^\[(\d+)\]\.?`)

// lineOf finds the line of a field path such as
// provisioning.environments[1].quota.requests.cpu in a YAML tree. Keys may
// contain dots, so the longest key matching the path wins. It returns the
// line of the deepest node found, 0 if not even the first key is there.
func lineOf(node *yaml.Node, path string) int {
	line := 0
	for path != "" && node != nil {
		switch node.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			best := ""
			for i := 0; i+1 < len(node.Content); i += 2 {
				k := node.Content[i].Value
				if (path == k || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[")) && len(k) > len(best) {
					best, next, line = k, node.Content[i+1], node.Content[i].Line
				}
			}
			if next == nil {
				return line
			}
			node, path = next, strings.TrimPrefix(strings.TrimPrefix(path, best), ".")
		case yaml.SequenceNode:
			m := indexPrefix.FindStringSubmatch(path)
			if m == nil {
				return line
			}
			i, _ := strconv.Atoi(m[1])
			if i >= len(node.Content) {
				return line
			}
			node, path, line = node.Content[i], path[len(m[0]):], node.Content[i].Line
		default:
			return line
		}
	}
	return line
}
