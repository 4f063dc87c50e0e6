package portal

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

const webhookSecret = "s3cret"

const groupYAML = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: team-a}\nspec: {type: team, children: []}\n"

// newCatalogServer serves the catalog API over a real database, refreshing
// inline (no queue).
func newCatalogServer(t *testing.T, dialect database.Dialect) (*Server, *catalog.Store) {
	t.Helper()
	db := testsupport.OpenDB(t, dialect)
	store := catalog.NewStore(db)
	// Tests write their files under the temporary directory; nothing else
	// may be read.
	policy := catalog.NewPolicy(catalog.Options{Reading: catalog.ReadingRules{Allow: []catalog.ReadAllow{{Dir: os.TempDir()}}}})
	in := &catalog.Ingester{Store: store, Fetch: catalog.Fetchers{}, Log: testsupport.DiscardLogger(), Policy: policy}
	opts := testOptions
	opts.CatalogWebhookSecret = webhookSecret
	return NewServer(opts, testsupport.DiscardLogger(), db, Services{Catalog: Catalog{Store: store, Ingester: in}}), store
}

func sign(body string) string {
	mac := hmac.New(sha256.New, []byte(webhookSecret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestGitWebhook(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s, store := newCatalogServer(t, dialect)
		ctx := context.Background()
		// A git location whose fetch fails: a refresh records an error, so
		// "refreshed" is visible without a git server.
		loc, err := store.CreateLocation(ctx, "url", "https://git.example.com/shop/payments.git/catalog-info.yaml")
		if err != nil {
			t.Fatal(err)
		}
		github := `{"repository": {"clone_url": "https://git.example.com/shop/payments.git", "html_url": "https://git.example.com/shop/payments"}}`
		gitlab := `{"project": {"git_http_url": "https://GIT.example.com/shop/payments.git"}}`
		other := `{"repository": {"clone_url": "https://git.example.com/shop/ledger.git"}}`
		tests := []struct {
			Name       string
			Body       string
			Header     []string
			WantStatus int
			WantQueued int
		}{
			{"BadSignature", github, []string{"X-Hub-Signature-256", sign(github + " ")}, 401, 0},
			{"NoSignature", github, nil, 401, 0},
			{"WrongToken", gitlab, []string{"X-Gitlab-Token", "guess"}, 401, 0},
			{"OtherRepository", other, []string{"X-Hub-Signature-256", sign(other)}, 202, 0},
			{"GitHub", github, []string{"X-Hub-Signature-256", sign(github)}, 202, 1},
			{"GitLab", gitlab, []string{"X-Gitlab-Token", webhookSecret}, 202, 1},
		}
		for _, tt := range tests {
			t.Run(tt.Name, func(t *testing.T) {
				rec := do(t, s, "POST", "/api/catalog/webhooks/git", strings.NewReader(tt.Body), append(tt.Header, "Content-Type", "application/json")...)
				if rec.Code != tt.WantStatus {
					t.Fatalf("status = %d %s, want %d", rec.Code, rec.Body, tt.WantStatus)
				}
				after, _ := store.Location(ctx, loc.ID)
				if refreshed := after.RefreshedAt != nil; refreshed != (tt.WantQueued > 0) {
					t.Fatalf("location refreshed = %v, want %v", refreshed, tt.WantQueued > 0)
				}
				if tt.WantStatus == 202 && !strings.Contains(rec.Body.String(), fmt.Sprintf(`"refreshQueued":%d`, tt.WantQueued)) {
					t.Fatalf("body = %s", rec.Body)
				}
				// Reset for the next case.
				if err := store.RecordRefresh(ctx, loc.ID, "", nil, after.NextRefreshAt); err != nil {
					t.Fatal(err)
				}
				reset := s.db.Gorm.Exec("UPDATE catalog_locations SET refreshed_at = NULL WHERE id = ?", loc.ID)
				if reset.Error != nil {
					t.Fatal(reset.Error)
				}
			})
		}
	})
}

func TestValidateEntity(t *testing.T) {
	s, _ := newCatalogServer(t, database.SQLite)
	tests := []struct {
		Name        string
		ContentType string
		Body        string
		WantStatus  int
		WantInBody  []string
	}{
		{"ValidJSON", "application/json", `{"entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "a"}, "spec": {"type": "team", "children": []}}, "location": "url:x"}`, 200, []string{"{}"}},
		{"InvalidYAML", "application/yaml", "kind: Group\nmetadata:\n\tname: x\n", 400, []string{`"code":"invalid"`, `"field":"document 0"`, `"line":3`}},
		{"EveryFieldError", "application/yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not Valid\n  tags: [Bad_Tag]\nspec:\n  type: service\n", 400,
			[]string{`"code":"invalid"`, `"field":"/metadata/name","line":4`, `"field":"/metadata/tags/0","line":5`, `missing properties 'lifecycle', 'owner'`, `"errors":[`}},
		{"SecondDocument", "application/yaml", groupYAML + "---\n" + strings.Replace(groupYAML, "type: team, ", "", 1), 400, []string{`"field":"document 1 /spec"`, `"line":9`}},
		{"TooLarge", "application/yaml", strings.Repeat("#", catalog.MaxDocumentBytes+1), 413, []string{`"code":"too_large"`}},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			rec := do(t, s, "POST", "/api/catalog/validate-entity", strings.NewReader(tt.Body), "Content-Type", tt.ContentType)
			if rec.Code != tt.WantStatus {
				t.Fatalf("status = %d %s, want %d", rec.Code, rec.Body, tt.WantStatus)
			}
			for _, w := range tt.WantInBody {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body lacks %s:\n%s", w, rec.Body)
				}
			}
		})
	}
}

func TestCatalogAPIErrors(t *testing.T) {
	s, _ := newCatalogServer(t, database.SQLite)
	emptySetCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"q":{"l":1,"f":[[]]}}`))
	manyFilters := strings.Repeat("filter=kind=component&", catalog.MaxFilterSets+1)
	manyValues := "filter=metadata.name=" + strings.TrimSuffix(strings.Repeat("x,metadata.name=", catalog.MaxFilterValues+1), ",metadata.name=")
	manyOrders := strings.Repeat("orderField=metadata.name&", catalog.MaxOrderFields+1)
	tests := []struct {
		Name, Method, Path string
		WantStatus         int
		WantInBody         string
	}{
		{"FilterPosition", "GET", "/api/catalog/entities/by-query?filter=kind=component,=x", 400, `"field":"filter[0]","reason":"position 16: missing key before '='`},
		{"BadOrder", "GET", "/api/catalog/entities/by-query?orderField=metadata.name,up", 400, `"field":"orderField"`},
		{"BadLimit", "GET", "/api/catalog/entities/by-query?limit=-3", 400, `"field":"limit"`},
		{"BadCursor", "GET", "/api/catalog/entities/by-query?cursor=zzz", 400, `"field":"cursor"`},
		{"CursorWithEmptySet", "GET", "/api/catalog/entities/by-query?cursor=" + emptySetCursor, 400, `"field":"cursor"`},
		{"TooManyFilterSets", "GET", "/api/catalog/entities/by-query?" + manyFilters, 400, `"reason":"101 filter sets; at most 100"`},
		{"TooManyValues", "GET", "/api/catalog/entities/by-query?" + manyValues, 400, `values; at most 1000"`},
		{"TooManyOrderFields", "GET", "/api/catalog/entities/by-query?" + manyOrders, 400, `"field":"orderField","reason":"11 sort keys; at most 10"`},
		{"TooManyFilterSetsOldList", "GET", "/api/catalog/entities?" + manyFilters, 400, `"field":"filter"`},
		{"TooManyFacetFilters", "GET", "/api/catalog/entity-facets?facet=kind&" + manyFilters, 400, `"field":"filter"`},
		{"UnknownEntity", "GET", "/api/catalog/entities/by-name/component/default/nope", 404, `"code":"not_found"`},
		{"NoFacet", "GET", "/api/catalog/entity-facets", 400, `"field":"facet"`},
		{"UnknownLocation", "DELETE", "/api/catalog/locations/nope", 404, `"code":"not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			rec := do(t, s, tt.Method, tt.Path, nil)
			if rec.Code != tt.WantStatus || !strings.Contains(rec.Body.String(), tt.WantInBody) {
				t.Fatalf("%s %s = %d %s; want %d with %s", tt.Method, tt.Path, rec.Code, rec.Body, tt.WantStatus, tt.WantInBody)
			}
		})
	}
}

func TestLocationsDryRunAndCreate(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s, _ := newCatalogServer(t, dialect)
		dir := t.TempDir()
		good := filepath.Join(dir, "good.yaml")
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(good, []byte(groupYAML), 0o644)
		os.WriteFile(bad, []byte("kind: [\n"), 0o644)
		post := func(path, body string) *httptest.ResponseRecorder {
			return do(t, s, "POST", path, strings.NewReader(body), "Content-Type", "application/json")
		}
		rec := post("/api/catalog/locations?dryRun=true", `{"type":"file","target":"`+good+`"}`)
		if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"exists":false`) || !strings.Contains(rec.Body.String(), `"name":"team-a"`) {
			t.Fatalf("dry run = %d %s", rec.Code, rec.Body)
		}
		if rec := do(t, s, "GET", "/api/catalog/entities", nil); strings.TrimSpace(rec.Body.String()) != "[]" {
			t.Fatalf("the dry run stored entities: %s", rec.Body)
		}
		if rec := post("/api/catalog/locations?dryRun=true", `{"type":"file","target":"`+bad+`"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"line":1`) {
			t.Fatalf("dry run of bad YAML = %d %s", rec.Code, rec.Body)
		}
		rec = post("/api/catalog/locations", `{"type":"file","target":"`+good+`"}`)
		var created struct{ Location locationJSON }
		if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &created) != nil || created.Location.ID == "" {
			t.Fatalf("create = %d %s", rec.Code, rec.Body)
		}
		if rec := post("/api/catalog/locations", `{"type":"file","target":"`+good+`"}`); rec.Code != 409 {
			t.Fatalf("duplicate create = %d %s", rec.Code, rec.Body)
		}
		if rec := post("/api/catalog/locations", `{"type":"ftp","target":"x"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"type"`) {
			t.Fatalf("bad type = %d %s", rec.Code, rec.Body)
		}
		rec = do(t, s, "GET", "/api/catalog/entities/by-name/group/default/team-a", nil)
		if rec.Code != 200 {
			t.Fatalf("entity after create = %d %s", rec.Code, rec.Body)
		}
		body, _ := io.ReadAll(rec.Body)
		if !strings.Contains(string(body), `"backstage.io/managed-by-location":"file:`+good+`"`) {
			t.Fatalf("entity = %s", body)
		}
	})
}

// POST by-query reads its JSON body as the same query GET reads from the
// URL, fields Backstage's clients add included, and pages the same way.
func TestQueryEntitiesPostMatchesGet(t *testing.T) {
	s, _ := newCatalogServer(t, database.SQLite)
	file := filepath.Join(t.TempDir(), "groups.yaml")
	var docs []string
	for _, name := range []string{"team-a", "team-b", "team-c"} {
		docs = append(docs, strings.Replace(groupYAML, "team-a", name, 1))
	}
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := do(t, s, "POST", "/api/catalog/locations", strings.NewReader(`{"type":"file","target":"`+file+`"}`)); rec.Code != 201 {
		t.Fatalf("create location = %d %s", rec.Code, rec.Body)
	}
	get := do(t, s, "GET", "/api/catalog/entities/by-query?filter=kind=group&fields=metadata.name&orderField=metadata.name,desc&limit=2", nil)
	post := do(t, s, "POST", "/api/catalog/entities/by-query", strings.NewReader(
		`{"filter":["kind=group"],"fields":["metadata.name"],"orderField":["metadata.name,desc"],"limit":2,"fullTextFilter":{},"extra":true}`))
	if get.Code != 200 || post.Code != 200 || get.Body.String() != post.Body.String() {
		t.Fatalf("GET = %d %s\nPOST = %d %s", get.Code, get.Body, post.Code, post.Body)
	}
	var page entitiesPage
	if err := json.Unmarshal(post.Body.Bytes(), &page); err != nil || page.TotalItems != 3 || len(page.Items) != 2 || page.PageInfo.NextCursor == "" {
		t.Fatalf("page = %+v, %v", page, err)
	}
	next := do(t, s, "POST", "/api/catalog/entities/by-query", strings.NewReader(`{"cursor":"`+page.PageInfo.NextCursor+`","fields":["metadata.name"]}`))
	if next.Code != 200 || !strings.Contains(next.Body.String(), `"name":"team-a"`) || strings.Contains(next.Body.String(), `"team-b"`) {
		t.Fatalf("next page = %d %s", next.Code, next.Body)
	}
	if rec := do(t, s, "POST", "/api/catalog/entities/by-query", strings.NewReader(`{"limit":-1}`)); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"limit"`) {
		t.Fatalf("negative limit = %d %s", rec.Code, rec.Body)
	}
}

// Locations read only what the reading rules allow, and credentials in a
// location's URL never come back out.
func TestLocationsReadOnlyWhatIsAllowed(t *testing.T) {
	s, store := newCatalogServer(t, database.SQLite)
	post := func(path, body string) *httptest.ResponseRecorder {
		return do(t, s, "POST", path, strings.NewReader(body), "Content-Type", "application/json")
	}
	hostname, _ := os.ReadFile("/etc/hostname")
	rec := post("/api/catalog/locations?dryRun=true", `{"type":"file","target":"/etc/hostname"}`)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "outside the allowed directories") ||
		(len(bytes.TrimSpace(hostname)) > 0 && strings.Contains(rec.Body.String(), string(bytes.TrimSpace(hostname)))) {
		t.Errorf("dry run of /etc/hostname = %d %s", rec.Code, rec.Body)
	}
	const token = "s3cr3t-token-value"
	rec = post("/api/catalog/locations", `{"type":"url","target":"https://bot:`+token+`@git.example.com/org/repo.git/catalog-info.yaml"}`)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "{host: git.example.com}") || strings.Contains(rec.Body.String(), token) {
		t.Errorf("url location on a host not allowed = %d %s", rec.Code, rec.Body)
	}
	if _, err := store.CreateLocation(context.Background(), "url", "https://"+token+"@git.example.com/org/repo.git/catalog-info.yaml"); err != nil {
		t.Fatal(err)
	}
	rec = do(t, s, "GET", "/api/catalog/locations", nil)
	if rec.Code != 200 || strings.Contains(rec.Body.String(), token) || !strings.Contains(rec.Body.String(), `"target":"https://git.example.com/org/repo.git/catalog-info.yaml"`) {
		t.Errorf("locations = %d %s", rec.Code, rec.Body)
	}
}

// As on Backstage, by-query without a limit returns everything (up to
// catalog.MaxLimit), and a cursor without a limit continues without one.
func TestQueryWithoutLimitReturnsEverything(t *testing.T) {
	s, _ := newCatalogServer(t, database.SQLite)
	file := filepath.Join(t.TempDir(), "groups.yaml")
	var docs []string
	for i := range 25 {
		docs = append(docs, strings.Replace(groupYAML, "team-a", fmt.Sprintf("team-%02d", i), 1))
	}
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if rec := do(t, s, "POST", "/api/catalog/locations", strings.NewReader(`{"type":"file","target":"`+file+`"}`)); rec.Code != 201 {
		t.Fatalf("create location = %d %s", rec.Code, rec.Body)
	}
	page := func(query string) entitiesPage {
		t.Helper()
		rec := do(t, s, "GET", "/api/catalog/entities/by-query?"+query, nil)
		var p entitiesPage
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil {
			t.Fatalf("by-query?%s = %d %s", query, rec.Code, rec.Body)
		}
		return p
	}
	if all := page("filter=kind=group"); len(all.Items) != 25 || all.PageInfo.NextCursor != "" {
		t.Errorf("without a limit: %d items, next cursor %q; want all 25 and no next page", len(all.Items), all.PageInfo.NextCursor)
	}
	first := page("filter=kind=group&limit=10&orderField=metadata.name,asc")
	if len(first.Items) != 10 || first.PageInfo.NextCursor == "" {
		t.Fatalf("first page: %d items, cursor %q", len(first.Items), first.PageInfo.NextCursor)
	}
	if rest := page("cursor=" + first.PageInfo.NextCursor); len(rest.Items) != 15 {
		t.Errorf("cursor without a limit: %d items, want the other 15", len(rest.Items))
	}
}
