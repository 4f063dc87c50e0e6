package policies

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// capabilities are OPA's built-in functions minus those that reach outside
// the process: a policy must decide from its input and data alone, and
// admission must never wait on the network.
var capabilities = sync.OnceValue(func() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(slices.Clone(caps.Builtins), func(b *ast.Builtin) bool { return isOutward(b.Name) })
	caps.AllowNet = []string{}
	return caps
})

func isOutward(builtin string) bool {
	return builtin == "http.send" || builtin == "opa.runtime" || strings.HasPrefix(builtin, "net.")
}

func parserOptions() ast.ParserOptions {
	return ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1, Capabilities: capabilities()}
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(true)
}

// Compiled is a policy set ready to evaluate: compiled once, its queries
// prepared per target. It is immutable and safe for concurrent use.
type Compiled struct {
	// Policies describes every policy of the set, by name.
	Policies []Policy
	queries  map[Target]*targetQuery
}

// targetQuery evaluates every policy of one target in one pass: binding
// p<i> holds the violations of policies[i].
type targetQuery struct {
	policies []*Policy
	query    rego.PreparedEvalQuery
}

// Compile parses, checks and compiles a policy set, then prepares its
// queries. A set with problems returns CompileErrors listing all of them.
// Test files are parsed (so their syntax errors count) but not compiled
// into the set.
func Compile(ctx context.Context, src Source) (*Compiled, error) {
	policyMods, _, errs := parse(src)
	compiler := newCompiler()
	if compiler.Compile(policyMods); compiler.Failed() {
		errs = append(errs, fromAST(compiler.Errors)...)
	}
	described, derrs := describe(policyMods)
	errs = append(errs, derrs...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	store := dataStore(src.Data)
	c := &Compiled{Policies: described, queries: map[Target]*targetQuery{}}
	for _, target := range []Target{Admission, Service} {
		tq := &targetQuery{}
		var bindings []string
		for i := range c.Policies {
			if p := &c.Policies[i]; p.Applies(target) {
				bindings = append(bindings, fmt.Sprintf("%s = data.paved.policies[%s].violation", bindingName(len(tq.policies)), strconv.Quote(p.Name)))
				tq.policies = append(tq.policies, p)
			}
		}
		if len(bindings) == 0 {
			continue
		}
		var err error
		tq.query, err = rego.New(
			rego.Query(strings.Join(bindings, "; ")),
			rego.Compiler(compiler),
			rego.Store(store),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare %s query: %w", target, err)
		}
		c.queries[target] = tq
	}
	return c, nil
}

// Validate reports every compile error of a set without keeping anything.
func Validate(ctx context.Context, src Source) CompileErrors {
	if _, err := Compile(ctx, src); err != nil {
		var errs CompileErrors
		if errors.As(err, &errs) {
			return errs
		}
		return CompileErrors{{Message: err.Error()}}
	}
	return nil
}

// parse parses every module, splitting policies and helpers from tests.
func parse(src Source) (policies, tests map[string]*ast.Module, errs CompileErrors) {
	policies, tests = map[string]*ast.Module{}, map[string]*ast.Module{}
	for _, path := range slices.Sorted(maps.Keys(src.Modules)) {
		if !strings.HasSuffix(path, ".rego") {
			errs = append(errs, CompileError{File: path, Message: "module paths must end in .rego"})
			continue
		}
		m, err := ast.ParseModuleWithOpts(path, src.Modules[path], parserOptions())
		if err != nil {
			errs = append(errs, fromAST(err)...)
			continue
		}
		if m == nil {
			errs = append(errs, CompileError{File: path, Row: 1, Col: 1, Message: "empty module: no package declaration"})
			continue
		}
		if IsTestFile(path) {
			tests[path] = m
		} else {
			policies[path] = m
		}
	}
	return policies, tests, errs
}

// dataStore holds the parameters under data.params.
func dataStore(params map[string]any) storage.Store {
	if params == nil {
		params = map[string]any{}
	}
	return inmem.NewFromObjectWithOpts(map[string]any{"params": params}, inmem.OptRoundTripOnWrite(true))
}

// fromAST converts OPA's errors (ast.Errors or a single *ast.Error) into
// positioned CompileErrors.
func fromAST(err error) CompileErrors {
	var list ast.Errors
	var one *ast.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = ast.Errors{one}
	default:
		return CompileErrors{{Message: err.Error()}}
	}
	out := make(CompileErrors, 0, len(list))
	for _, e := range list {
		ce := CompileError{Message: e.Message}
		if e.Location != nil {
			ce.File, ce.Row, ce.Col = e.Location.File, e.Location.Row, e.Location.Col
		}
		out = append(out, ce)
	}
	return out
}

func sortErrors(errs CompileErrors) {
	slices.SortStableFunc(errs, func(a, b CompileError) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Row != b.Row {
			return a.Row - b.Row
		}
		return a.Col - b.Col
	})
}
