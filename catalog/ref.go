package catalog

import (
	"fmt"
	"strings"
)

// DefaultNamespace is the namespace of entities and references that name
// none.
const DefaultNamespace = "default"

// Ref identifies an entity: kind, namespace and name. Refs compare
// case-insensitively; String gives the canonical lowercase form
// "kind:namespace/name" that Backstage's API uses.
type Ref struct {
	Kind, Namespace, Name string
}

// String returns the canonical, lowercase "kind:namespace/name".
func (r Ref) String() string {
	return strings.ToLower(r.Kind + ":" + r.Namespace + "/" + r.Name)
}

// ParseRef parses "[kind:][namespace/]name", taking kind and namespace from
// the defaults when absent (defaultNamespace "" means "default"). It fails
// when a part is empty or no kind is given or defaulted.
func ParseRef(s, defaultKind, defaultNamespace string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("entity reference must not be empty")
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if slash != -1 && slash < colon {
		colon = -1 // "ns/name:with-colon"
	}
	r := Ref{Kind: defaultKind, Namespace: defaultNamespace}
	if r.Namespace == "" {
		r.Namespace = DefaultNamespace
	}
	if colon != -1 {
		r.Kind = s[:colon]
	}
	if slash != -1 {
		r.Namespace = s[colon+1 : slash]
	}
	r.Name = s[max(colon+1, slash+1):]
	if (colon != -1 && r.Kind == "") || (slash != -1 && r.Namespace == "") || r.Name == "" {
		return Ref{}, fmt.Errorf("entity reference %q is not of the form [<kind>:][<namespace>/]<name>", s)
	}
	if r.Kind == "" {
		return Ref{}, fmt.Errorf("entity reference %q has no kind (e.g. start it with \"component:\")", s)
	}
	return r, nil
}

// MustParseRef is ParseRef for references known to be valid, such as test
// fixtures; it panics otherwise.
func MustParseRef(s string) Ref {
	r, err := ParseRef(s, "", "")
	if err != nil {
		panic(err)
	}
	return r
}
