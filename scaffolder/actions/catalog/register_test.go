package catalog_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
	"github.com/paved-dev/paved/scaffolder"
	catalogactions "github.com/paved-dev/paved/scaffolder/actions/catalog"
)

const componentYAML = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: orders}
spec: {type: service, lifecycle: experimental, owner: team-a}
`

// catalog:register registers the location once (a resumed task reuses
// it), reads it at once, names the entity, and its undo removes only a
// location it created.
func TestRegister(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/repo/catalog-info.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(componentYAML))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		store := catalog.NewStore(testsupport.OpenDB(t, dialect))
		policy := catalog.NewPolicy(catalog.Options{Reading: catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: u.Host}}, Networks: []string{"127.0.0.0/8"}}})
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Policy: policy, Log: slog.New(slog.DiscardHandler)}
		action := catalogactions.Register{Store: store, Ingester: in}
		call := &scaffolder.Call{Input: map[string]any{"repoContentsUrl": srv.URL + "/repo/"}, Log: slog.New(slog.DiscardHandler)}
		dry := &scaffolder.Call{Input: call.Input, DryRun: true, Log: call.Log}
		if out, err := action.Run(ctx, dry); err != nil || out["catalogInfoUrl"] != srv.URL+"/repo/catalog-info.yaml" {
			t.Fatalf("dry run = %v, %v", out, err)
		}
		if locs, _ := store.Locations(ctx); len(locs) != 0 {
			t.Fatalf("a dry run registered %d locations", len(locs))
		}
		out, err := action.Run(ctx, call)
		if err != nil {
			t.Fatal(err)
		}
		if out["entityRef"] != "component:default/orders" || out["catalogInfoUrl"] != srv.URL+"/repo/catalog-info.yaml" || out["created"] != true {
			t.Fatalf("output = %v", out)
		}
		if _, err := store.EntityByRef(ctx, catalog.Ref{Kind: "component", Namespace: "default", Name: "orders"}); err != nil {
			t.Fatalf("the entity is not in the catalog when the step ends: %v", err)
		}
		again, err := action.Run(ctx, call)
		if err != nil || again["locationId"] != out["locationId"] || again["created"] != false {
			t.Fatalf("second run = %v, %v; want the same location, not created", again, err)
		}
		if err := action.Undo(ctx, call, again); err != nil {
			t.Fatal(err)
		}
		if locs, _ := store.Locations(ctx); len(locs) != 1 {
			t.Fatalf("the undo of a run that reused the location removed it: %d locations", len(locs))
		}
		if err := action.Undo(ctx, call, out); err != nil {
			t.Fatal(err)
		}
		if locs, _ := store.Locations(ctx); len(locs) != 0 {
			t.Fatalf("%d locations after undo", len(locs))
		}
		if _, err := store.EntityByRef(ctx, catalog.Ref{Kind: "component", Namespace: "default", Name: "orders"}); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Fatalf("the entity outlived the undo: %v", err)
		}

		missing := &scaffolder.Call{Input: map[string]any{"catalogInfoUrl": srv.URL + "/repo/nope.yaml"}, Log: call.Log}
		if _, err := action.Run(ctx, missing); paved.ErrorCode(err) != paved.CodeUnprocessable {
			t.Fatalf("unreadable file: %v", err)
		}
		if locs, _ := store.Locations(ctx); len(locs) != 0 {
			t.Fatalf("a failed registration left %d locations", len(locs))
		}
		missing.Input["optional"] = true
		if _, err := action.Run(ctx, missing); err != nil {
			t.Fatalf("optional: %v", err)
		}
		elsewhere := &scaffolder.Call{Input: map[string]any{"catalogInfoUrl": "https://elsewhere.example.com/x.yaml"}, Log: call.Log}
		if _, err := action.Run(ctx, elsewhere); paved.ErrorCode(err) != paved.CodeForbidden {
			t.Fatalf("a host the reading rules do not allow: %v", err)
		}
		if _, err := action.Run(ctx, &scaffolder.Call{Input: map[string]any{}, Log: call.Log}); paved.ErrorCode(err) != paved.CodeInvalid {
			t.Fatalf("no url: %v", err)
		}
	})
}

func TestRegisterReadsGitHostPagesAsGit(t *testing.T) {
	for in, want := range map[string]string{
		"http://gitea.local:3000/acme/orders/src/branch/main/catalog-info.yaml":     "http://gitea.local:3000/acme/orders.git/catalog-info.yaml",
		"https://gitlab.example.com/g/sub/orders/-/blob/main/svc/catalog-info.yaml": "https://gitlab.example.com/g/sub/orders.git/svc/catalog-info.yaml",
		"https://github.com/acme/orders/blob/main/catalog-info.yaml":                "https://github.com/acme/orders.git/catalog-info.yaml",
		"https://github.com/acme/orders/tree/dev/catalog-info.yaml":                 "https://github.com/acme/orders.git/catalog-info.yaml",
		"https://example.com/files/catalog-info.yaml":                               "https://example.com/files/catalog-info.yaml",
	} {
		out, err := catalogactions.Register{}.Target(map[string]any{"catalogInfoUrl": in})
		if err != nil || out != want {
			t.Errorf("%s -> %q, %v; want %s", in, out, err, want)
		}
	}
}
