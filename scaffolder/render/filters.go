package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// filters are Backstage's template filters (plugin-scaffolder-backend's
// createDefaultFilters) and Nunjucks' dump, which Jinja lacks.
func (e *Engine) filters() *exec.FilterSet {
	return exec.NewFilterSet(map[string]exec.FilterFunction{
		"parseRepoUrl":   e.filterParseRepoURL,
		"projectSlug":    e.filterProjectSlug,
		"parseEntityRef": filterParseEntityRef,
		"pick":           filterPick,
		"dump":           filterDump,
		"default":        filterDefault,
		"d":              filterDefault,
		printFilter:      filterPrint,
		tickFilter:       filterTick,
		macroTickFilter:  filterMacroTick,
	})
}

// printFilter is the filter context() puts on every output.
const printFilter = "__paved_print"

// filterPrint writes a value as JavaScript's String() does.
func filterPrint(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if _, ok := in.Interface().(undefined); ok && len(params.Args) == 1 {
		noteUndefined(e, params.Args[0].Integer())
	}
	return exec.AsValue(jsPrint(in.Interface()))
}

func jsPrint(v any) string {
	switch t := v.(type) {
	case nil, undefined:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return formatNumber(t)
	case float32:
		return formatNumber(float64(t))
	case object, map[string]any, exec.Dict, *exec.Dict:
		return "[object Object]"
	case *exec.Value:
		return jsPrint(t.Interface())
	case interface{ String() string }:
		return t.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = jsPrint(rv.Index(i).Interface())
		}
		return strings.Join(parts, ",")
	case reflect.Map:
		return "[object Object]"
	}
	return fmt.Sprint(v)
}

// filterDefault is Nunjucks' default(value, default, boolean): the default
// when the value is undefined (not null), or falsy when boolean is true.
func filterDefault(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	fallback := exec.AsValue(undefined(""))
	if len(params.Args) > 0 {
		fallback = params.Args[0]
	}
	boolean := len(params.Args) > 1 && params.Args[1].IsTrue()
	if b, ok := params.KwArgs["boolean"]; ok {
		boolean = b.IsTrue()
	}
	if _, isUndefined := in.Interface().(undefined); isUndefined || (boolean && !in.IsTrue()) {
		return fallback
	}
	return in
}

func failed(format string, args ...any) *exec.Value {
	return exec.AsValue(fmt.Errorf(format, args...))
}

// RepoURL is a parsed repository picker value: host?owner=o&repo=r.
type RepoURL struct {
	Host, Owner, Repo, Organization, Workspace, Project string
}

// ParseRepoURL parses a repoUrl as Backstage's publish actions do: the
// host must have an integration, and each host type requires its own
// parameters (repo always; owner too unless it is Gitea).
func (e *Engine) ParseRepoURL(repoURL string) (RepoURL, error) {
	u, err := url.Parse("https://" + repoURL)
	if err != nil || u.Host == "" {
		return RepoURL{}, fmt.Errorf("invalid repo URL %q: want host?owner=OWNER&repo=REPO", repoURL)
	}
	typ, ok := "git", true
	if e.HostType != nil {
		typ, ok = e.HostType(u.Host)
	}
	if !ok {
		return RepoURL{}, fmt.Errorf("no integration for host %s; add it under integrations: in the configuration", u.Host)
	}
	q := u.Query()
	param := func(name string) string { return strings.Trim(q.Get(name), "/") }
	r := RepoURL{Host: u.Host, Owner: param("owner"), Repo: param("repo"), Organization: param("organization"),
		Workspace: param("workspace"), Project: param("project")}
	required := []string{"repo", "owner"}
	switch typ {
	case "gitea":
		required = []string{"repo"}
	case "gitlab":
		if r.Project != "" {
			required = nil
		}
	}
	for _, name := range required {
		if q.Get(name) == "" {
			return RepoURL{}, fmt.Errorf("invalid repo URL %q: missing %s", repoURL, name)
		}
	}
	return r, nil
}

// object is the filter's result: only the parameters that were given,
// as Backstage leaves the others undefined.
func (r RepoURL) object() object {
	o := object{"host": r.Host}
	for k, v := range map[string]string{"owner": r.Owner, "repo": r.Repo, "organization": r.Organization, "workspace": r.Workspace, "project": r.Project} {
		if v != "" {
			o[k] = v
		}
	}
	return o
}

func (e *Engine) filterParseRepoURL(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	r, err := e.ParseRepoURL(in.String())
	if err != nil {
		return exec.AsValue(err)
	}
	return exec.AsValue(r.object())
}

func (e *Engine) filterProjectSlug(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	r, err := e.ParseRepoURL(in.String())
	if err != nil {
		return exec.AsValue(err)
	}
	owner := r.Owner
	if owner == "" {
		owner = "undefined" // `${owner}/${repo}` in Backstage
	}
	return exec.AsValue(owner + "/" + r.Repo)
}

// filterParseEntityRef is catalog-model's parseEntityRef: kind:namespace/name
// with defaultKind and defaultNamespace (default "default") options.
func filterParseEntityRef(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	defaultKind, defaultNamespace := "", "default"
	if opts := params.First(); opts != nil && !opts.IsNil() {
		if v, ok := opts.GetItem("defaultKind"); ok && v.IsString() {
			defaultKind = v.String()
		}
		if v, ok := opts.GetItem("defaultNamespace"); ok && v.IsString() {
			defaultNamespace = v.String()
		}
	}
	ref := in.String()
	kind, rest, hasKind := strings.Cut(ref, ":")
	if !hasKind {
		kind, rest = defaultKind, ref
	}
	namespace, name, hasNS := strings.Cut(rest, "/")
	if !hasNS {
		namespace, name = defaultNamespace, rest
	}
	switch {
	case kind == "":
		return failed("entity reference %q had missing or empty kind (e.g. did not start with \"component:\" or similar)", ref)
	case namespace == "":
		return failed("entity reference %q had missing or empty namespace", ref)
	case name == "":
		return failed("entity reference %q had missing or empty name", ref)
	}
	return exec.AsValue(object{"kind": kind, "namespace": namespace, "name": name})
}

// filterPick is lodash.get: a property, or a dotted path, of an object.
func filterPick(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	path := params.First()
	if path == nil || !path.IsString() {
		return failed("pick: want a property name")
	}
	v := in
	for _, key := range strings.Split(path.String(), ".") {
		next, ok := v.GetItem(key)
		if !ok || next.IsError() {
			return exec.AsValue(undefined(""))
		}
		v = next
	}
	return v
}

// filterDump is Nunjucks' dump: JSON.stringify(value, null, spaces).
func filterDump(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	plain, ok := unwrap(in.Interface())
	if !ok {
		return exec.AsValue(undefined("")) // JSON.stringify(undefined) is undefined
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // JSON.stringify leaves <, > and & alone
	if spaces := params.First(); spaces != nil && spaces.IsInteger() && spaces.Integer() > 0 {
		enc.SetIndent("", strings.Repeat(" ", min(spaces.Integer(), 10)))
	}
	if err := enc.Encode(plain); err != nil {
		return failed("dump: %v", err)
	}
	return exec.AsValue(strings.TrimSuffix(buf.String(), "\n"))
}
