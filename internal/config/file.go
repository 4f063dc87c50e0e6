package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/scaffolder/provision"
)

// The config file's structured sections: the environments, their profiles
// and the named clusters, and the catalog's reading rules, do not fit flags.
const (
	provisioningKey = "provisioning"
	catalogKey      = "catalog"
	integrationsKey = "integrations"
)

// maxFileBytes bounds the config file; a real one is a few kilobytes.
const maxFileBytes = 1 << 20

// file reads path as a YAML mapping of setting names to values, plus the
// provisioning section. Unknown keys are errors, so typos do not silently
// fall back to defaults.
func (l *loader) file(path string) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file sets nothing
		}
		return paved.Invalid("config file "+path+" is not valid YAML", paved.Detail{Reason: err.Error()})
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return invalidSetting(origin{field: path, line: root.Line}, errors.New("want a mapping of setting names to values"))
	}
	l.root = root
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		at := origin{field: path + ": " + key.Value, line: key.Line}
		if key.Value == provisioningKey || key.Value == catalogKey || key.Value == integrationsKey {
			continue // decoded with their types below
		}
		s, ok := settingNamed(key.Value)
		if !ok || s.name == configSetting {
			return invalidSetting(at, fmt.Errorf("unknown setting; known: %s, %s, %s, %s", fileKeys(), catalogKey, integrationsKey, provisioningKey))
		}
		if val.Kind != yaml.ScalarNode {
			return invalidSetting(origin{field: at.field, line: val.Line}, errors.New("want a single value"))
		}
		if err := l.set(s, val.Value, origin{field: at.field, line: val.Line}); err != nil {
			return err
		}
	}
	if err := decodeSections(&l.c, path, data); err != nil {
		return err
	}
	return l.expandSecrets()
}

// expandSecrets replaces ${NAME} in integration credentials with the
// variable NAME, so secrets need not be written in the file.
func (l *loader) expandSecrets() error {
	in := &l.c.Catalog.Integrations
	for provider, list := range in.All() {
		for i := range list {
			for name, v := range map[string]*string{"token": &list[i].Token, "username": &list[i].Username, "password": &list[i].Password} {
				ref, ok := strings.CutPrefix(*v, "${")
				if !ok || !strings.HasSuffix(ref, "}") {
					continue
				}
				variable := strings.TrimSuffix(ref, "}")
				if *v = l.getenv(variable); *v == "" {
					field := fmt.Sprintf("%s.%s[%d].%s", integrationsKey, provider, i, name)
					return invalidSetting(origin{field: l.c.File + ": " + field, line: lineOf(l.root, field)}, fmt.Errorf("the variable %s is not set", variable))
				}
			}
		}
	}
	return nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, paved.Invalid("cannot read config file", paved.Detail{Field: "config", Reason: err.Error()})
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, paved.Invalid("cannot read config file", paved.Detail{Field: "config", Reason: err.Error()})
	}
	if len(data) > maxFileBytes {
		return nil, paved.Invalid("config file "+path+" is too large", paved.Detail{Field: "config", Reason: fmt.Sprintf("larger than %d bytes", maxFileBytes)})
	}
	return data, nil
}

// catalogSection is the catalog: section of the config file.
type catalogSection struct {
	Reading *catalog.ReadingRules `yaml:"reading"`
	Rules   *[]catalog.KindRule   `yaml:"rules"`
}

// decodeSections reads the provisioning: and catalog: sections of the
// config file over the defaults. Unknown keys are errors with their line,
// like the flat settings.
func decodeSections(c *Config, path string, data []byte) error {
	var file struct {
		Provisioning *provision.Settings   `yaml:"provisioning"`
		Catalog      catalogSection        `yaml:"catalog"`
		Integrations *catalog.Integrations `yaml:"integrations"`
		Rest         map[string]any        `yaml:",inline"` // the flat settings, checked elsewhere
	}
	file.Provisioning = &c.Provisioning
	file.Integrations = &c.Catalog.Integrations
	file.Catalog = catalogSection{Reading: &c.Catalog.Reading, Rules: &c.Catalog.Rules}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&file)
	var te *yaml.TypeError
	if errors.As(err, &te) {
		details := make([]paved.Detail, len(te.Errors))
		for i, msg := range te.Errors {
			details[i] = yamlDetail(path, msg)
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
		section := "a " + provisioningKey
		switch typ := d.Reason[i+len(" not found in type "):]; {
		case strings.HasPrefix(typ, "catalog.Integration"):
			section = "an integration"
		case strings.HasPrefix(typ, "catalog."):
			section = "a " + catalogKey
		}
		d.Reason = d.Reason[:i] + " is not " + section + " setting"
	}
	return d
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
