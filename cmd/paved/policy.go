package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/policies"
	"github.com/paved-dev/paved/policies/webhook"
)

const policyUsage = `Usage: paved policy <command>

Commands:
  test [-v] [DIR]                   run the Rego tests of DIR (default: the
                                    built-in library), as opa test does
  eval --input FILE [--dir DIR] [--target admission|service]
                                    evaluate a manifest, an AdmissionReview or
                                    a service request; exit 1 when denied
  export --output FILE [--dir DIR]  write the policies as an OPA bundle

DIR holds .rego files (x_test.rego are tests) and optionally data.json with
the parameters, laid out like policies/library.`

func policyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, policyUsage)
		return usageError{errors.New("paved policy: no command given")}
	}
	switch args[0] {
	case "test":
		return policyTest(ctx, args[1:], stdout)
	case "eval":
		return policyEval(ctx, args[1:], stdout)
	case "export":
		return policyExport(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, policyUsage)
		return nil
	}
	fmt.Fprintln(stderr, policyUsage)
	return usageError{fmt.Errorf("paved policy: unknown command %q", args[0])}
}

// policySource reads DIR, or the built-in library when dir is empty.
func policySource(dir string) (policies.Source, error) {
	if dir == "" {
		return policies.Library()
	}
	return policies.LoadDir(dir)
}

func parseFlagSet(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fmt.Errorf("%s: %w", fs.Name(), err)}
	}
	return nil
}

func policyTest(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("paved policy test", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print every test, not only failures")
	if err := parseFlagSet(fs, args); err != nil {
		return helpOr(err, stdout)
	}
	if fs.NArg() > 1 {
		return usageError{errors.New("paved policy test: name at most one folder")}
	}
	src, err := policySource(fs.Arg(0))
	if err != nil {
		return err
	}
	results, err := policies.Test(ctx, src)
	var ces policies.CompileErrors
	if errors.As(err, &ces) {
		for _, e := range ces {
			fmt.Fprintln(stdout, e.String())
		}
		return fmt.Errorf("%d compile error(s)", len(ces))
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		switch {
		case !r.Pass:
			fmt.Fprintf(stdout, "FAIL %s (%s): %s\n", r.Name, r.File, r.Error)
			if r.Output != "" {
				fmt.Fprintf(stdout, "  output:\n    %s\n", strings.ReplaceAll(strings.TrimSpace(r.Output), "\n", "\n    "))
			}
		case *verbose:
			fmt.Fprintf(stdout, "PASS %s (%s)\n", r.Name, r.Duration)
		}
	}
	fmt.Fprintln(stdout, policies.Summary(results))
	if len(policies.Failed(results)) > 0 {
		return errors.New("policy tests failed")
	}
	return nil
}

func policyEval(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("paved policy eval", flag.ContinueOnError)
	input := fs.String("input", "", "JSON or YAML file: Kubernetes manifests (one or more documents), an AdmissionReview, or a service request")
	dir := fs.String("dir", "", "policy folder (default: the built-in library)")
	target := fs.String("target", "admission", "admission or service")
	if err := parseFlagSet(fs, args); err != nil {
		return helpOr(err, stdout)
	}
	if *input == "" {
		return usageError{errors.New("paved policy eval: --input FILE is required")}
	}
	t := policies.Target(*target)
	if t != policies.Admission && t != policies.Service {
		return usageError{fmt.Errorf("paved policy eval: --target %q is not admission or service", *target)}
	}
	src, err := policySource(*dir)
	if err != nil {
		return err
	}
	compiled, err := policies.Compile(ctx, src)
	if err != nil {
		return err
	}
	docs, err := readInputs(*input, t)
	if err != nil {
		return err
	}
	denied := 0
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	for _, d := range docs {
		if err := policies.CheckInput(t, d.input); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		vs, err := compiled.Evaluate(ctx, t, d.input)
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		o := policies.Verdict(vs, "")
		if !o.Allowed {
			denied++
		}
		if err := enc.Encode(evalResult{Input: d.name, Allowed: o.Allowed, Violations: o.Violations, Warnings: o.Warnings}); err != nil {
			return err
		}
	}
	if denied > 0 {
		return fmt.Errorf("%d of %d input(s) denied", denied, len(docs))
	}
	return nil
}

// evalResult is one line of paved policy eval's output.
type evalResult struct {
	Input      string               `json:"input"`
	Allowed    bool                 `json:"allowed"`
	Violations []policies.Violation `json:"violations"`
	Warnings   []string             `json:"warnings"`
}

type evalInput struct {
	name  string
	input any
}

// readInputs reads every YAML or JSON document of path. For the admission
// target a plain object becomes a CREATE review of it; an AdmissionReview
// is used as is.
func readInputs(path string, t policies.Target) ([]evalInput, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, paved.Invalid("cannot read the input", paved.Detail{Field: "--input", Reason: err.Error()})
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []evalInput
	for i := 1; ; i++ {
		var node yaml.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, paved.Invalid("the input is not valid YAML or JSON", paved.Detail{Field: path, Reason: err.Error()})
		}
		var doc map[string]any
		if err := node.Decode(&doc); err != nil {
			return nil, paved.Invalid("an input document is not an object", paved.Detail{Field: path, Line: node.Line, Reason: err.Error()})
		}
		if doc == nil {
			continue
		}
		// Re-encode through JSON so values have the types evaluation sees
		// in admission (numbers, no YAML-only types).
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, paved.Invalid("an input document cannot be read as JSON", paved.Detail{Field: path, Line: node.Line, Reason: err.Error()})
		}
		var obj map[string]any
		_ = json.Unmarshal(b, &obj)
		name := fmt.Sprintf("%s#%d", path, i)
		switch {
		case t == policies.Admission && obj["kind"] == "AdmissionReview":
			out = append(out, evalInput{name: name, input: map[string]any{"request": obj["request"]}})
		case t == policies.Admission && obj["kind"] != nil:
			meta, _ := obj["metadata"].(map[string]any)
			name = fmt.Sprintf("%s#%d %v/%v", path, i, obj["kind"], meta["name"])
			out = append(out, evalInput{name: name, input: policies.ObjectInput(obj)})
		default:
			out = append(out, evalInput{name: name, input: obj})
		}
	}
	if len(out) == 0 {
		return nil, paved.Invalid("the input has no documents", paved.Detail{Field: "--input", Reason: path + " is empty"})
	}
	return out, nil
}

func policyExport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("paved policy export", flag.ContinueOnError)
	output := fs.String("output", "", "bundle file to write (.tar.gz)")
	dir := fs.String("dir", "", "policy folder (default: the built-in library)")
	revision := fs.String("revision", "", "revision recorded in the bundle manifest")
	if err := parseFlagSet(fs, args); err != nil {
		return helpOr(err, stdout)
	}
	if *output == "" {
		return usageError{errors.New("paved policy export: --output FILE is required")}
	}
	src, err := policySource(*dir)
	if err != nil {
		return err
	}
	if errs := policies.Validate(context.Background(), src); len(errs) > 0 {
		return errs
	}
	var buf bytes.Buffer
	if err := policies.Export(&buf, src, *revision); err != nil {
		return err
	}
	if err := os.WriteFile(*output, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d modules)\n", *output, len(src.Modules))
	return nil
}

func helpOr(err error, stdout io.Writer) error {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, policyUsage)
		return nil
	}
	return err
}

const admissionUsage = `Usage: paved admission manifest [flags]

Prints the ValidatingWebhookConfiguration that sends admission reviews of
workloads, Services and Ingresses to Paved's webhook (--webhook-url, or
https://<webhook-listen>/admission/validate), with the caBundle of the
configured certificate or of Paved's CA in the data directory (created if
missing). Apply it with kubectl apply -f -.`

func admissionCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "manifest" {
		fmt.Fprintln(stderr, admissionUsage)
		return usageError{errors.New("paved admission: the command is manifest")}
	}
	cfg, done, err := loadConfigNoArgs("admission manifest", admissionUsage, args[1:], getenv, stdout)
	if err != nil || done {
		return err
	}
	if cfg.Webhook.Listen == "" && cfg.Webhook.URL == "" {
		return usageError{paved.Invalid("no webhook address", paved.Detail{Field: "--webhook-url", Reason: "set --webhook-url (or --webhook-listen) to where the API server reaches Paved"})}
	}
	ca, err := webhook.CABundle(cfg.Webhook, cfg.DataDir)
	if err != nil {
		return err
	}
	out, err := webhook.Manifest(cfg.Webhook, cfg.ExemptNamespaces(), ca)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}
