package policies

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// describe reads each policy's package-scoped METADATA and checks it.
// Modules outside paved.policies are helpers and need none.
func describe(mods map[string]*ast.Module) ([]Policy, CompileErrors) {
	var out []Policy
	var errs CompileErrors
	for _, path := range slices.Sorted(maps.Keys(mods)) {
		m := mods[path]
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		name, ok := strings.CutPrefix(pkg, policyPackage)
		if !ok {
			continue
		}
		at := func(format string, args ...any) {
			loc := m.Package.Location
			errs = append(errs, CompileError{File: path, Row: loc.Row, Col: loc.Col, Message: fmt.Sprintf(format, args...)})
		}
		if strings.ContainsAny(name, ".[") {
			at("policy package %s: a policy is one level under paved.policies", pkg)
			continue
		}
		p := Policy{Name: name, File: path, Severity: "medium", Enforcement: Deny}
		a := packageAnnotations(m)
		if a == nil || a.Title == "" {
			at("policy %s: a METADATA block with a title is required above the package", name)
		} else {
			p.Title, p.Description = a.Title, a.Description
			readCustom(&p, a.Custom, at)
		}
		if !definesViolation(m) {
			at("policy %s: defines no violation rule (violation contains msg if { ... })", name)
		}
		out = append(out, p)
	}
	return out, errs
}

func packageAnnotations(m *ast.Module) *ast.Annotations {
	for _, a := range m.Annotations {
		if a.Scope == "package" {
			return a
		}
	}
	return nil
}

func readCustom(p *Policy, custom map[string]any, at func(string, ...any)) {
	if s, ok := custom["severity"].(string); ok {
		if !slices.Contains(severities, s) {
			at("policy %s: severity %q is not one of %s", p.Name, s, strings.Join(severities, ", "))
		}
		p.Severity = s
	}
	if e, ok := custom["enforcement"].(string); ok {
		switch Enforcement(e) {
		case Deny, Warn, DryRun:
			p.Enforcement = Enforcement(e)
		default:
			at("policy %s: enforcement %q is not one of deny, warn, dryrun", p.Name, e)
		}
	}
	targets, _ := custom["targets"].([]any)
	for _, t := range targets {
		switch s, _ := t.(string); Target(s) {
		case Admission, Service:
			p.Targets = append(p.Targets, Target(s))
		default:
			at("policy %s: target %v is not one of admission, service", p.Name, t)
		}
	}
	if len(targets) == 0 {
		at("policy %s: custom.targets must name admission and/or service", p.Name)
	}
}

func definesViolation(m *ast.Module) bool {
	for _, r := range m.Rules {
		if r.Head.Name.String() == "violation" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.String() == "violation") {
			return true
		}
	}
	return false
}
