// Package synth generates synthetic but realistic Backstage catalogs for
// benchmarks: an organisation of groups and users, domains and systems,
// APIs, and components that are owned, belong to systems, depend on each
// other and provide and consume APIs. Output is deterministic for a seed.
package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Shape fixes how many of each kind a catalog of n entities has.
type Shape struct {
	Domains, Systems, Groups, Users, APIs, Components int
}

// ShapeFor splits n entities the way real catalogs are split: mostly
// components, a tenth users and APIs, a few teams and systems.
func ShapeFor(n int) Shape {
	s := Shape{Domains: max(1, n/2000), Systems: max(1, n/100), Groups: max(1, n/100), Users: n / 10, APIs: n / 10}
	s.Components = max(0, n-s.Domains-s.Systems-s.Groups-s.Users-s.APIs)
	return s
}

// PerFile is how many entities each generated file holds.
const PerFile = 1000

// Write writes the catalog of n entities into dir: entities-NNNN.yaml files
// and a catalog-info.yaml Location listing them. It returns the root file.
func Write(dir string, n int, seed uint64) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), shape: ShapeFor(n)}
	var targets []string
	var f *os.File
	var err error
	count := 0
	emit := func(doc string) error {
		if count%PerFile == 0 {
			if f != nil {
				f.Close()
			}
			name := fmt.Sprintf("entities-%04d.yaml", count/PerFile)
			targets = append(targets, "./"+name)
			if f, err = os.Create(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
		count++
		_, err := io.WriteString(f, "---\n"+doc)
		return err
	}
	if err := g.each(emit); err != nil {
		return "", err
	}
	if f != nil {
		f.Close()
	}
	root := filepath.Join(dir, "catalog-info.yaml")
	loc := "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: synthetic-catalog\nspec:\n  targets:\n"
	for _, t := range targets {
		loc += "    - " + t + "\n"
	}
	return root, os.WriteFile(root, []byte(loc), 0o644)
}

type gen struct {
	r          *rand.Rand
	shape      Shape
	components []string // names so far, for dependsOn
}

var (
	types      = []string{"service", "service", "service", "website", "library"}
	lifecycles = []string{"production", "production", "experimental", "deprecated"}
	apiTypes   = []string{"openapi", "openapi", "grpc", "asyncapi", "graphql"}
	words      = []string{"payments", "ledger", "search", "checkout", "catalog", "orders", "billing", "identity", "notify", "shipping", "pricing", "reviews", "inventory", "reports", "auth"}
)

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) each(emit func(string) error) error {
	s := g.shape
	steps := []struct {
		n  int
		fn func(i int) string
	}{
		{s.Domains, g.domain}, {s.Systems, g.system}, {s.Groups, g.group},
		{s.Users, g.user}, {s.APIs, g.api}, {s.Components, g.component},
	}
	for _, st := range steps {
		for i := range st.n {
			if err := emit(st.fn(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func header(kind, name, extra string) string {
	return "apiVersion: backstage.io/v1alpha1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n" + extra
}

func (g *gen) domain(i int) string {
	return header("Domain", fmt.Sprintf("domain-%d", i), "spec:\n  owner: "+g.groupRef()+"\n")
}

func (g *gen) system(i int) string {
	return header("System", fmt.Sprintf("system-%d", i), fmt.Sprintf("  description: The %s system\nspec:\n  owner: %s\n  domain: domain-%d\n",
		g.pick(words), g.groupRef(), g.r.IntN(g.shape.Domains)))
}

func (g *gen) group(i int) string {
	parent := ""
	if i > 0 {
		parent = fmt.Sprintf("  parent: group-%d\n", g.r.IntN(i))
	}
	return header("Group", fmt.Sprintf("group-%d", i), fmt.Sprintf("  title: Team %d\nspec:\n  type: team\n  profile:\n    displayName: Team %s %d\n%s  children: []\n", i, g.pick(words), i, parent))
}

func (g *gen) user(i int) string {
	return header("User", fmt.Sprintf("user-%d", i), fmt.Sprintf("spec:\n  profile:\n    displayName: User %d\n    email: user-%d@example.com\n  memberOf: [%s]\n", i, i, g.groupRef()))
}

func (g *gen) api(i int) string {
	return header("API", fmt.Sprintf("api-%d", i), fmt.Sprintf("  description: %s API number %d\n  tags: [%s]\nspec:\n  type: %s\n  lifecycle: %s\n  owner: %s\n  system: system-%d\n  definition: \"openapi: 3.0.0\"\n",
		g.pick(words), i, g.pick(words), g.pick(apiTypes), g.pick(lifecycles), g.groupRef(), g.r.IntN(g.shape.Systems)))
}

func (g *gen) component(i int) string {
	var b strings.Builder
	name := fmt.Sprintf("%s-%d", g.pick(words), i)
	defer func() { g.components = append(g.components, name) }()
	fmt.Fprintf(&b, "  title: %s service %d\n  description: Handles %s for the %s team.\n  tags: [%s, %s]\n  annotations:\n    github.com/project-slug: example/%s\n",
		strings.ToUpper(name[:1])+name[1:], i, g.pick(words), g.pick(words), g.pick(words), g.pick([]string{"go", "java", "python", "typescript"}), name)
	fmt.Fprintf(&b, "spec:\n  type: %s\n  lifecycle: %s\n  owner: %s\n  system: system-%d\n", g.pick(types), g.pick(lifecycles), g.groupRef(), g.r.IntN(g.shape.Systems))
	g.refList(&b, "dependsOn", "component:", g.r.IntN(4), len(g.components), func(j int) string { return g.components[j] })
	if g.shape.APIs > 0 {
		g.refList(&b, "providesApis", "", g.r.IntN(3), g.shape.APIs, func(j int) string { return fmt.Sprintf("api-%d", j) })
		g.refList(&b, "consumesApis", "", g.r.IntN(3), g.shape.APIs, func(j int) string { return fmt.Sprintf("api-%d", j) })
	}
	return header("Component", name, b.String())
}

// refList writes up to n references to random earlier items (below limit).
func (g *gen) refList(b *strings.Builder, field, kind string, n, limit int, name func(int) string) {
	if n == 0 || limit == 0 {
		return
	}
	fmt.Fprintf(b, "  %s:\n", field)
	for range n {
		fmt.Fprintf(b, "    - %s%s\n", kind, name(g.r.IntN(limit)))
	}
}

func (g *gen) groupRef() string { return fmt.Sprintf("group-%d", g.r.IntN(g.shape.Groups)) }
