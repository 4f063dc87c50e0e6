package catalog

import (
	"fmt"
)

// Relation types, in pairs: every declared edge is stored in both directions.
const (
	RelOwnedBy       = "ownedBy"
	RelOwnerOf       = "ownerOf"
	RelPartOf        = "partOf"
	RelHasPart       = "hasPart"
	RelDependsOn     = "dependsOn"
	RelDependencyOf  = "dependencyOf"
	RelProvidesAPI   = "providesApi"
	RelAPIProvidedBy = "apiProvidedBy"
	RelConsumesAPI   = "consumesApi"
	RelAPIConsumedBy = "apiConsumedBy"
	RelParentOf      = "parentOf"
	RelChildOf       = "childOf"
	RelMemberOf      = "memberOf"
	RelHasMember     = "hasMember"
)

var inverse = map[string]string{
	RelOwnedBy: RelOwnerOf, RelOwnerOf: RelOwnedBy,
	RelPartOf: RelHasPart, RelHasPart: RelPartOf,
	RelDependsOn: RelDependencyOf, RelDependencyOf: RelDependsOn,
	RelProvidesAPI: RelAPIProvidedBy, RelAPIProvidedBy: RelProvidesAPI,
	RelConsumesAPI: RelAPIConsumedBy, RelAPIConsumedBy: RelConsumesAPI,
	RelParentOf: RelChildOf, RelChildOf: RelParentOf,
	RelMemberOf: RelHasMember, RelHasMember: RelMemberOf,
}

// relationField says which spec field declares which relation, and the
// kind a reference in it defaults to ("" means the reference must say).
type relationField struct {
	field, relation, defaultKind string
}

// relationFields follows Backstage's built-in kinds processor.
var relationFields = map[string][]relationField{
	"component": {
		{"owner", RelOwnedBy, "Group"}, {"subcomponentOf", RelPartOf, "Component"},
		{"providesApis", RelProvidesAPI, "API"}, {"consumesApis", RelConsumesAPI, "API"},
		{"dependsOn", RelDependsOn, ""}, {"dependencyOf", RelDependencyOf, ""},
		{"system", RelPartOf, "System"},
	},
	"api":      {{"owner", RelOwnedBy, "Group"}, {"system", RelPartOf, "System"}},
	"resource": {{"owner", RelOwnedBy, "Group"}, {"dependsOn", RelDependsOn, ""}, {"dependencyOf", RelDependencyOf, ""}, {"system", RelPartOf, "System"}},
	"system":   {{"owner", RelOwnedBy, "Group"}, {"domain", RelPartOf, "Domain"}},
	"domain":   {{"owner", RelOwnedBy, "Group"}, {"subdomainOf", RelPartOf, "Domain"}},
	"group":    {{"parent", RelChildOf, "Group"}, {"children", RelParentOf, "Group"}, {"members", RelHasMember, "User"}},
	"user":     {{"memberOf", RelMemberOf, "Group"}},
	"template": {{"owner", RelOwnedBy, "Group"}},
}

// Edge is one stored relation row: Source --Type--> Target.
type Edge struct {
	Source, Target Ref
	Type           string
}

// Edges returns the relations the descriptor declares, each in both
// directions, and an error per reference that does not parse (named by its
// JSON pointer). References default their namespace to the entity's.
func Edges(r Raw) ([]Edge, []FieldError) {
	self := r.Ref()
	spec := r.Spec()
	var edges []Edge
	var errs []FieldError
	for _, f := range relationFields[kindKey(self.Kind)] {
		for i, target := range refsIn(spec[f.field]) {
			t, err := ParseRef(target, f.defaultKind, self.Namespace)
			if err != nil {
				ptr := "/spec/" + f.field
				if _, isList := spec[f.field].([]any); isList {
					ptr = fmt.Sprintf("%s/%d", ptr, i)
				}
				errs = append(errs, FieldError{ptr, err.Error()})
				continue
			}
			edges = append(edges, Edge{self, t, f.relation}, Edge{t, self, inverse[f.relation]})
		}
	}
	return edges, errs
}

// refsIn returns the strings of a spec field that holds one reference or a
// list of them; anything else (the schema has already judged it) yields none.
func refsIn(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// NewRelation is the API form of an edge from its source.
func NewRelation(typ string, target Ref) Relation {
	return Relation{
		Type:      typ,
		TargetRef: target.String(),
		Target:    RelationTarget{Kind: kindKey(target.Kind), Namespace: kindKey(target.Namespace), Name: kindKey(target.Name)},
	}
}
