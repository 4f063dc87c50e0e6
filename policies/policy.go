package policies

import (
	"fmt"
	"slices"
	"strings"
)

// Enforcement says what a violation does.
type Enforcement string

// The enforcements: deny blocks, warn lets through with a warning, dryrun
// only records the decision.
const (
	Deny   Enforcement = "deny"
	Warn   Enforcement = "warn"
	DryRun Enforcement = "dryrun"
)

// Target is the moment a policy decides at.
type Target string

// The targets: a Kubernetes admission review (also used for manifests in
// CI) or a service request (its spec, when a service is created).
const (
	Admission Target = "admission"
	Service   Target = "service"
)

// Severities a policy may declare, lowest first.
var severities = []string{"low", "medium", "high", "critical"}

// policyPackage is the Rego package prefix of policies.
const policyPackage = "paved.policies."

// Policy describes one policy of a set.
type Policy struct {
	// Name is the last part of the package path (paved.policies.<name>).
	Name        string      `json:"name"`
	File        string      `json:"file"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	Severity    string      `json:"severity"`
	Enforcement Enforcement `json:"enforcement"`
	Targets     []Target    `json:"targets"`
}

// Applies reports whether the policy decides at target.
func (p *Policy) Applies(target Target) bool { return slices.Contains(p.Targets, target) }

// Source is a policy set as the platform team writes it.
type Source struct {
	// Modules maps a file path to its Rego source. Paths ending in
	// _test.rego are tests; the others are policies and helpers.
	Modules map[string]string `json:"modules"`
	// Data is the policies' parameters, visible to Rego as data.params.
	Data map[string]any `json:"data,omitempty"`
}

// IsTestFile reports whether path names a Rego test file.
func IsTestFile(path string) bool { return strings.HasSuffix(path, "_test.rego") }

// CompileError is one problem with a module, positioned where OPA found it.
type CompileError struct {
	File    string `json:"file"`
	Row     int    `json:"row"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

func (e CompileError) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Row, e.Col, e.Message)
}

// CompileErrors is every problem found in a set; Compile returns all of
// them, not the first.
type CompileErrors []CompileError

func (es CompileErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return fmt.Sprintf("%d compile error(s): %s", len(es), strings.Join(parts, "; "))
}
