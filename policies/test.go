package policies

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/paved-dev/paved"
)

// TestResult is the outcome of one Rego test rule.
type TestResult struct {
	// Name is the test's full rule path, e.g.
	// data.paved.policies.no_latest_tag.test_latest_denied.
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Pass     bool          `json:"pass"`
	Error    string        `json:"error,omitempty"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// Test runs every test rule of a set (test_* rules, usually in _test.rego
// files) with OPA's tester, as opa test does, under the same capabilities
// and data as evaluation. A set that does not compile returns
// CompileErrors.
// MaxTestRun bounds one run of a version's tests, all of them together
// (OPA's tester bounds each test on its own): a run past it fails.
const MaxTestRun = 30 * time.Second

func Test(ctx context.Context, src Source) ([]TestResult, error) {
	return testWithin(ctx, src, MaxTestRun)
}

// testWithin is Test with an overall deadline.
func testWithin(ctx context.Context, src Source, limit time.Duration) ([]TestResult, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	results, err := runTests(ctx, src)
	if err == nil && ctx.Err() != nil {
		return nil, paved.Errorf(paved.CodeUnprocessable, "the tests did not finish within %s: make them (or the policies they run) faster", limit)
	}
	return results, err
}

// Untested lists the policy modules of src that no test covers: no test
// rule in their package, nor in <package>_test.
func Untested(src Source, results []TestResult) []string {
	policyMods, _, _ := parse(src)
	var out []string
	for _, path := range slices.Sorted(maps.Keys(policyMods)) {
		pkg := policyMods[path].Package.Path.String()
		covered := slices.ContainsFunc(results, func(r TestResult) bool {
			return strings.HasPrefix(r.Name, pkg+"_test.") || strings.HasPrefix(r.Name, pkg+".test_")
		})
		if !covered {
			out = append(out, path)
		}
	}
	return out
}

func runTests(ctx context.Context, src Source) ([]TestResult, error) {
	policyMods, testMods, errs := parse(src)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	all := maps.Clone(policyMods)
	maps.Copy(all, testMods)
	runner := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetStore(dataStore(src.Data)).
		SetModules(all).
		SetDefaultRegoVersion(ast.RegoV1).
		RaiseBuiltinErrors(true)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		ces := fromAST(err)
		sortErrors(ces)
		return nil, ces
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Name: r.Package + "." + r.Name, Pass: r.Pass(), Output: string(r.Output), Duration: r.Duration}
		if r.Location != nil {
			tr.File = r.Location.File
		}
		switch {
		case r.Error != nil:
			tr.Error = r.Error.Error()
		case r.Fail:
			tr.Error = "test rule was false or undefined"
		case r.Skip:
			tr.Error = "skipped"
		}
		out = append(out, tr)
	}
	slices.SortFunc(out, func(a, b TestResult) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Failed returns the results that did not pass.
func Failed(results []TestResult) []TestResult {
	return slices.DeleteFunc(slices.Clone(results), func(r TestResult) bool { return r.Pass })
}

// Summary says how many tests passed, as one line.
func Summary(results []TestResult) string {
	failed := Failed(results)
	names := make([]string, len(failed))
	for i, f := range failed {
		names[i] = f.Name
	}
	s := fmt.Sprintf("%d/%d tests passed", len(results)-len(failed), len(results))
	if len(failed) > 0 {
		s += "; failed: " + strings.Join(names, ", ")
	}
	return s
}
