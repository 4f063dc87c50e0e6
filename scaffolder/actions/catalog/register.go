package catalog

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/scaffolder"
)

// Register is catalog:register: it registers the new repository's
// catalog-info.yaml as a location of Paved's catalog and reads it at
// once, so the entity is in the catalog when the task completes.
type Register struct {
	Store    *catalog.Store
	Ingester *catalog.Ingester
}

var (
	_ scaffolder.Action = Register{}
	_ scaffolder.Undoer = Register{}
)

// ID is the action's name in templates.
func (Register) ID() string { return "catalog:register" }

// SupportsDryRun: a dry run checks the target against the reading rules
// and says what it would register.
func (Register) SupportsDryRun() bool { return true }

// Description says what the action does.
func (Register) Description() string {
	return "Register a catalog-info.yaml (by repoContentsUrl and catalogInfoPath, or catalogInfoUrl) in the catalog and read it at once"
}

// Run registers the location (an existing one with the same target is
// reused, so a resumed task registers it once), refreshes it, and
// returns Backstage's outputs: entityRef (the first entity that is not a
// Location) and catalogInfoUrl; plus Paved's locationId and created.
func (a Register) Run(ctx context.Context, call *scaffolder.Call) (map[string]any, error) {
	target, err := a.Target(call.Input)
	if err != nil {
		return nil, err
	}
	optional, _ := call.Input["optional"].(bool)
	if err := a.Ingester.CheckTarget(target); err != nil {
		return nil, err
	}
	if call.DryRun {
		call.Log.Info(fmt.Sprintf("catalog:register would register %s in the catalog and read it", target))
		return map[string]any{"catalogInfoUrl": target}, nil
	}
	loc, created, err := a.location(ctx, target)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"catalogInfoUrl": target, "locationId": loc.ID, "created": created}
	res, err := a.Ingester.Refresh(ctx, loc, true)
	if err == nil && len(res.Problems) > 0 {
		err = fmt.Errorf("%s", strings.Join(res.Problems, "; "))
	}
	if err != nil {
		if optional {
			call.Log.Warn(fmt.Sprintf("the location %s could not be read (optional): %v", target, err))
			return out, nil
		}
		if created {
			_ = a.Store.DeleteLocation(context.WithoutCancel(ctx), loc.ID, a.Ingester.Apply)
		}
		return nil, paved.Errorf(paved.CodeUnprocessable, "catalog:register: %v", err)
	}
	ref, err := a.entityRef(ctx, loc)
	if err != nil {
		return nil, err
	}
	if ref != "" {
		out["entityRef"] = ref
	}
	call.Log.Info(fmt.Sprintf("Registered %s in the catalog", target))
	return out, nil
}

// location is the location of target: the existing one or a new one.
func (a Register) location(ctx context.Context, target string) (*catalog.Location, bool, error) {
	loc, err := a.Store.LocationByTarget(ctx, catalog.LocationURL, target)
	if err == nil {
		return loc, false, nil
	}
	if paved.ErrorCode(err) != paved.CodeNotFound {
		return nil, false, err
	}
	loc, err = a.Store.CreateLocation(ctx, catalog.LocationURL, target)
	if paved.ErrorCode(err) == paved.CodeConflict { // registered meanwhile
		loc, err = a.Store.LocationByTarget(ctx, catalog.LocationURL, target)
		return loc, false, err
	}
	return loc, err == nil, err
}

// entityRef is the first entity of the location that is not a Location,
// or else the first one, as Backstage picks it.
func (a Register) entityRef(ctx context.Context, loc *catalog.Location) (string, error) {
	f := catalog.Filter{Sets: [][]catalog.Condition{{{Key: "metadata.annotations." + catalog.AnnotationOriginLocation,
		Values: []string{strings.ToLower(catalog.LocationURL + ":" + loc.Target)}}}}}
	page, err := a.Store.QueryEntities(ctx, catalog.Query{Filter: f, Limit: 100})
	if err != nil {
		return "", err
	}
	first := ""
	for _, e := range page.Items {
		ref := e.Ref().String()
		if first == "" {
			first = ref
		}
		if !strings.HasPrefix(ref, "location:") {
			return ref, nil
		}
	}
	return first, nil
}

// Undo removes the location if this step created it; its entities go
// with it.
func (a Register) Undo(ctx context.Context, _ *scaffolder.Call, output map[string]any) error {
	id, _ := output["locationId"].(string)
	if created, _ := output["created"].(bool); !created || id == "" {
		return nil
	}
	opts := a.Ingester.Apply
	opts.DeleteOrphans = true
	err := a.Store.DeleteLocation(ctx, id, opts)
	if paved.ErrorCode(err) == paved.CodeNotFound {
		return nil
	}
	return err
}

// Target is what the step registers: catalogInfoUrl, or repoContentsUrl
// joined with catalogInfoPath (default /catalog-info.yaml), as a target
// the catalog can read.
func (Register) Target(in map[string]any) (string, error) {
	if u, ok := in["catalogInfoUrl"].(string); ok && u != "" {
		return readableTarget(u), nil
	}
	base, _ := in["repoContentsUrl"].(string)
	if base == "" {
		return "", paved.Invalid("invalid catalog:register input", paved.Detail{Field: "input.repoContentsUrl",
			Reason: "give repoContentsUrl (with catalogInfoPath) or catalogInfoUrl"})
	}
	p, _ := in["catalogInfoPath"].(string)
	if p == "" {
		p = "/catalog-info.yaml"
	}
	return readableTarget(strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(p, "/")), nil
}

// gitWebMarkers split a git host's web URL of a file into the
// repository and the branch and path: Gitea's /src/branch/, GitLab's
// /-/blob/ and /-/tree/, GitHub's /blob/ and /tree/.
var gitWebMarkers = []string{"/src/branch/", "/-/blob/", "/-/tree/", "/blob/", "/tree/"}

// readableTarget turns a git host's web page of a file (what publish:*
// returns as repoContentsUrl) into a git target the catalog reads with
// the host's integration credentials, <repository>.git/<path>, read at
// the repository's default branch (the one publish:* pushed); other URLs
// are kept.
func readableTarget(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return s
	}
	for _, m := range gitWebMarkers {
		repo, rest, ok := strings.Cut(u.Path, m)
		if !ok || strings.Count(strings.Trim(repo, "/"), "/") < 1 {
			continue
		}
		_, file, _ := strings.Cut(rest, "/") // drop the branch
		u.Path = strings.TrimSuffix(repo, "/") + ".git/" + file
		u.RawQuery, u.Fragment = "", ""
		return u.String()
	}
	return s
}

// Schema describes the input and output.
func (Register) Schema() scaffolder.ActionSchema {
	return scaffolder.ActionSchema{Input: scaffolder.Object(nil, map[string]any{
		"repoContentsUrl": scaffolder.Prop("string", "the repository's contents URL (publish:* output)"),
		"catalogInfoPath": scaffolder.Prop("string", "path of the descriptor in the repository (default /catalog-info.yaml)"),
		"catalogInfoUrl":  scaffolder.Prop("string", "URL of the descriptor, instead of the two above"),
		"optional":        scaffolder.Prop("boolean", "an unreadable descriptor is a warning, not a failure"),
	}), Output: scaffolder.Object(nil, map[string]any{
		"entityRef":      scaffolder.Prop("string", "the first entity of the location that is not a Location"),
		"catalogInfoUrl": scaffolder.Prop("string", "the registered target"),
		"locationId":     scaffolder.Prop("string", "Paved's: the location's id"),
		"created":        scaffolder.Prop("boolean", "Paved's: whether this step created the location (undo removes only that)"),
	})}
}
