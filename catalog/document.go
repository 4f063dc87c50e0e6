package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxDocumentBytes bounds one descriptor file or request body; Backstage
// descriptors are a few KiB, so anything larger is a mistake or an attack.
const MaxDocumentBytes = 1 << 20

// Document is one YAML document of a descriptor file, decoded to plain JSON
// values (map[string]any, []any, string, float64, int64, bool, nil), with
// the position of every value so errors can point at a line.
type Document struct {
	// Index is the 0-based position of the document in its file, counting
	// the empty documents that are skipped.
	Index int
	// Value is the decoded document.
	Value any
	// positions maps a JSON pointer ("/spec/owner") to the 1-based line and
	// column where its value starts.
	positions map[string]Position
	// budget is how many more values decoding may produce.
	budget int
}

// Position is a place in a file.
type Position struct {
	Line, Column int
}

// Position returns where the value at the JSON pointer starts, or the
// nearest enclosing value that has a position.
func (d *Document) Position(pointer string) Position {
	for {
		if p, ok := d.positions[pointer]; ok {
			return p
		}
		i := strings.LastIndexByte(pointer, '/')
		if i < 0 {
			return Position{}
		}
		pointer = pointer[:i]
	}
}

// SyntaxError is YAML that does not parse, located in its file.
type SyntaxError struct {
	Document int
	Position
	Reason string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("document %d, line %d, column %d: %s", e.Document, e.Line, e.Column, e.Reason)
}

// ParseDocuments decodes every non-empty document of a YAML (or JSON) file,
// as Backstage's catalog does: YAML 1.2 core types, empty and null
// documents skipped. It returns a *SyntaxError for YAML that does not parse.
func ParseDocuments(data []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, syntaxError(i, err)
		}
		if len(n.Content) == 0 {
			continue
		}
		d := Document{Index: i, positions: map[string]Position{}, budget: expansionBudget(n.Content[0])}
		v, err := d.decode(n.Content[0], "", 0)
		if err != nil {
			return nil, &SyntaxError{Document: i, Position: d.Position(""), Reason: err.Error()}
		}
		if v == nil {
			continue
		}
		d.Value = v
		docs = append(docs, d)
	}
}

// syntaxError pulls the line out of yaml.v3's message ("yaml: line 7: ...").
func syntaxError(doc int, err error) *SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &SyntaxError{Document: doc, Reason: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, reason, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				e.Line, e.Reason = n, reason
			}
		}
	}
	return e
}

// maxDepth stops absurd nesting from exhausting the stack.
const maxDepth = 100

// Aliases let a few hundred bytes of YAML stand for billions of values
// ("billion laughs"). A document may expand to at most a small multiple of
// the nodes written in it, and never past maxExpandedNodes: anything more
// is refused before it costs time or memory.
const (
	aliasExpansionFactor = 4
	minExpansionBudget   = 10_000
	maxExpandedNodes     = 1_000_000
)

// errAliasBomb is the refusal of a document whose aliases expand too far.
var errAliasBomb = fmt.Errorf("aliases expand to more than %dx the values written (an alias bomb?)", aliasExpansionFactor)

// expansionBudget is how many values the document may decode to.
func expansionBudget(root *yaml.Node) int {
	written := 0
	var count func(*yaml.Node)
	count = func(n *yaml.Node) {
		written++
		if n.Kind != yaml.AliasNode {
			for _, c := range n.Content {
				count(c)
			}
		}
	}
	count(root)
	return min(max(aliasExpansionFactor*written, minExpansionBudget), maxExpandedNodes)
}

func (d *Document) decode(n *yaml.Node, pointer string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nesting deeper than %d levels", maxDepth)
	}
	if d.budget--; d.budget < 0 {
		return nil, errAliasBomb
	}
	if n.Kind == yaml.AliasNode {
		return d.decode(n.Alias, pointer, depth+1)
	}
	d.positions[pointer] = Position{n.Line, n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			v, err := d.decode(n.Content[i+1], pointer+"/"+escapePointer(key), depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := d.decode(c, pointer+"/"+strconv.Itoa(i), depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n), nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// scalar decodes a scalar by its resolved YAML 1.2 core tag. Timestamps and
// other non-JSON tags stay strings, as in the JavaScript yaml package.
func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return i
		}
		var f float64
		if n.Decode(&f) == nil {
			return f
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return n.Value
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
