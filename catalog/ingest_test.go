package catalog_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/catalog/synth"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// pushFiles commits files (path → content) to the repository and pushes.
func pushFiles(t *testing.T, srv *testsupport.GitServer, repo string, files map[string]string, remove ...string) {
	t.Helper()
	work := srv.Clone(t, repo)
	for p, content := range files {
		full := filepath.Join(work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range remove {
		testsupport.Git(t, work, "rm", "-q", p)
	}
	testsupport.Git(t, work, "add", "-A")
	testsupport.Git(t, work, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "update")
	testsupport.Git(t, work, "push", "-q", "origin", "HEAD:main")
}

const rootLocation = `apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: shop}
spec:
  targets: [./teams.yaml, ./services/payments.yaml]
`

const teamsYAML = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
`

const paymentsYAML = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments}
spec: {type: service, lifecycle: production, owner: team-a, providesApis: [payments-api]}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api}
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: ./openapi.yaml
`

func TestIngestFromGit(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		srv := testsupport.NewGitServer(t)
		srv.CreateRepo(t, "shop")
		pushFiles(t, srv, "shop", map[string]string{
			"catalog-info.yaml": rootLocation, "teams.yaml": teamsYAML,
			"services/payments.yaml": paymentsYAML, "services/openapi.yaml": "openapi: 3.0.0\n",
		})
		store := catalog.NewStore(testsupport.OpenDB(t, dialect))
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{Git: catalog.NewGitFetcher()}, Log: testsupport.DiscardLogger(),
			Policy: catalog.NewPolicy(catalog.Options{Reading: catalog.ReadingRules{Allow: []catalog.ReadAllow{{Host: "127.0.0.1"}}, Networks: []string{"127.0.0.0/8"}}})}
		authed := strings.Replace(srv.RepoURL("shop"), "://", "://"+srv.User+":"+srv.Token+"@", 1)
		loc, err := store.CreateLocation(ctx, "url", authed+"/catalog-info.yaml")
		if err != nil {
			t.Fatal(err)
		}

		res, err := in.Refresh(ctx, loc, false)
		if err != nil || res.Applied.Added != 5 || len(res.Problems) != 0 {
			t.Fatalf("first refresh = %+v, %v; want 5 entities (the generated location, location, group, component, API)", res, err)
		}
		// As on Backstage: a generated Location entity for the registered
		// location, managed-by-location is the file that emitted an
		// entity, managed-by-origin-location the registered location;
		// neither carries the credentials.
		public := srv.RepoURL("shop") + "/catalog-info.yaml"
		sum := sha1.Sum([]byte("url:" + public))
		if _, err := store.EntityByRef(ctx, catalog.MustParseRef("location:default/generated-"+hex.EncodeToString(sum[:]))); err != nil {
			t.Errorf("generated Location entity: %v", err)
		}
		payments, err := store.EntityByRef(ctx, catalog.MustParseRef("component:payments"))
		if err != nil {
			t.Fatal(err)
		}
		ann := payments.Metadata()["annotations"].(map[string]any)
		if ann[catalog.AnnotationLocation] != "url:"+srv.RepoURL("shop")+"/services/payments.yaml" || ann[catalog.AnnotationOriginLocation] != "url:"+public {
			t.Errorf("annotations = %v", ann)
		}
		api, err := store.EntityByRef(ctx, catalog.MustParseRef("api:payments-api"))
		if err != nil {
			t.Fatal(err)
		}
		if api.Spec()["definition"] != "openapi: 3.0.0\n" {
			t.Fatalf("definition = %q, want the $text content", api.Spec()["definition"])
		}

		loc, _ = store.Location(ctx, loc.ID)
		if res, err := in.Refresh(ctx, loc, false); err != nil || !res.Skipped {
			t.Fatalf("refresh of unchanged content = %+v, %v; want skipped", res, err)
		}

		// An invalid update keeps the last good version; a removed file orphans.
		pushFiles(t, srv, "shop", map[string]string{
			"services/payments.yaml": strings.Replace(paymentsYAML, "owner: team-a, ", "", 1),
			"catalog-info.yaml":      strings.Replace(rootLocation, "./teams.yaml, ", "", 1),
		}, "teams.yaml")
		loc, _ = store.Location(ctx, loc.ID)
		res, err = in.Refresh(ctx, loc, false)
		if err != nil || res.Applied.Orphaned != 1 || len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "line 4: /spec: missing property 'owner'") {
			t.Fatalf("refresh after bad push = %+v, %v", res, err)
		}
		comp, _ := store.EntityByRef(ctx, catalog.MustParseRef("component:payments"))
		if comp.Spec()["owner"] != "team-a" || comp["status"] == nil {
			t.Fatalf("component = %v; want the last good spec and a status", comp)
		}
		loc, _ = store.Location(ctx, loc.ID)
		if !strings.Contains(loc.LastError, "missing property 'owner'") {
			t.Fatalf("location error = %q", loc.LastError)
		}
	})
}

func TestUnreachableLocationKeepsEntities(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		dir := t.TempDir()
		file := filepath.Join(dir, "catalog-info.yaml")
		if err := os.WriteFile(file, []byte(teamsYAML), 0o644); err != nil {
			t.Fatal(err)
		}
		store := catalog.NewStore(testsupport.OpenDB(t, dialect))
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Log: testsupport.DiscardLogger(), Policy: allowDir(dir)}
		loc, err := store.CreateLocation(ctx, "file", file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Refresh(ctx, loc, false); err != nil {
			t.Fatal(err)
		}
		os.Remove(file)
		if _, err := in.Refresh(ctx, loc, true); err == nil {
			t.Fatal("refresh of a missing file succeeded")
		}
		loc, _ = store.Location(ctx, loc.ID)
		if !strings.Contains(loc.LastError, "no such file") {
			t.Fatalf("location error = %q, want the reason", loc.LastError)
		}
		if _, err := store.EntityByRef(ctx, catalog.MustParseRef("group:team-a")); err != nil {
			t.Fatalf("entity lost after a failed read: %v", err)
		}
	})
}

// allowDir is a policy that reads files below dir.
func allowDir(dir string) *catalog.Policy {
	return catalog.NewPolicy(catalog.Options{Reading: catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: dir}}}})
}

// A bulk ingest leaves PostgreSQL with planner statistics for the catalog
// tables at once, instead of whenever autovacuum gets to them: without
// them, facet queries right after a first import took seconds.
func TestBulkIngestAnalyzes(t *testing.T) {
	db := testsupport.OpenDB(t, database.Postgres)
	root, err := synth.Write(t.TempDir(), 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	store := catalog.NewStore(db)
	in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Policy: allowDir(filepath.Dir(root)), Log: testsupport.DiscardLogger()}
	ctx := context.Background()
	loc, err := store.CreateLocation(ctx, "file", root)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := in.Refresh(ctx, loc, false); err != nil || res.Applied.Added < 1000 {
		t.Fatalf("refresh = %+v, %v", res, err)
	}
	for _, table := range []string{"catalog_entities", "catalog_search", "catalog_relations"} {
		var tuples float64
		err := db.Gorm.Raw("SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)", table).Scan(&tuples).Error
		if err != nil || tuples <= 0 {
			t.Errorf("%s: reltuples %v (%v), want statistics from an ANALYZE", table, tuples, err)
		}
	}
}

// A location larger than one apply batch is written batch by batch from
// the spool, and comes out as the whole tree read at once would: every
// entity with its relations, duplicates across batches refused as
// conflicts, and entities of a file that is dropped orphaned.
func TestRefreshAcrossBatches(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		dir := t.TempDir()
		root, err := synth.Write(dir, 5000, 7)
		if err != nil {
			t.Fatal(err)
		}
		// The first file's first entity again, in a file read last.
		first, err := os.ReadFile(filepath.Join(dir, "entities-0000.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		dup, _, _ := strings.Cut(strings.TrimPrefix(string(first), "---\n"), "---\n")
		writeFile(t, filepath.Join(dir, "dup.yaml"), dup)
		rootYAML, err := os.ReadFile(root)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, root, string(rootYAML)+"    - ./dup.yaml\n")

		store := catalog.NewStore(testsupport.OpenDB(t, dialect))
		in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Policy: allowDir(dir), Log: testsupport.DiscardLogger(), SpoolDir: t.TempDir()}
		whole, _, err := in.DryRun(ctx, "file", root)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := store.CreateLocation(ctx, "file", root)
		if err != nil {
			t.Fatal(err)
		}
		res, err := in.Refresh(ctx, loc, false)
		if err != nil {
			t.Fatal(err)
		}
		// The dry run lists every entity read, the duplicate twice.
		if res.Applied.Added != len(whole.Entities)-1 || len(res.Applied.Conflicts) != 1 {
			t.Fatalf("refresh added %d with conflicts %v; the tree holds %d entities and one duplicate", res.Applied.Added, res.Applied.Conflicts, len(whole.Entities))
		}
		for _, i := range []int{0, len(whole.Entities) / 2, len(whole.Entities) - 2} {
			want := whole.Entities[i]
			got, err := store.EntityByRef(ctx, want.Ref())
			if err != nil {
				t.Fatalf("entity %d (%s): %v", i, want.Ref(), err)
			}
			if !reflect.DeepEqual(got["spec"], normalized(t, want["spec"])) {
				t.Errorf("%s: stored spec %v, read %v", want.Ref(), got["spec"], want["spec"])
			}
			wantEdges, _ := catalog.Edges(want)
			if len(wantEdges) > 0 && len(relationsOf(got)) == 0 {
				t.Errorf("%s: no relations stored, want those of %d edges", want.Ref(), len(wantEdges))
			}
		}

		// Drop the last generated file: its entities become orphans.
		lastFile := filepath.Join(dir, "entities-0004.yaml")
		dropped, err := catalog.ParseDocuments(mustRead(t, lastFile))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, root, strings.Replace(string(rootYAML), "    - ./entities-0004.yaml\n", "", 1))
		res, err = in.Refresh(ctx, loc, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Applied.Orphaned != len(dropped) || res.Applied.Added != 0 {
			t.Fatalf("after dropping a file of %d entities: %+v", len(dropped), res.Applied)
		}
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// normalized is v as the store serves it: through JSON.
func normalized(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
