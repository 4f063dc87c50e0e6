package catalog_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// The parsers of untrusted input must never panic and must answer fast
// whatever they are given. `go test` runs the seeds; `make fuzz` (part of
// make test) explores for a few seconds each.

func FuzzParseDocuments(f *testing.F) {
	for _, seed := range []string{
		component("plain"), groupDoc, "a: &a [1,2]\nb: [*a,*a]\n", "- x\n- y\n", "---\n---\n", "{", "k: !!binary aGk=\n",
		"x0: &x0 {k: v}\nx1: &x1 {a: *x0, b: *x0}\nx2: {a: *x1, b: *x1}\n", strings.Repeat("[", 200),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		docs, err := catalog.ParseDocuments(data)
		if err == nil {
			for _, d := range docs {
				_ = catalog.ValidateAssumingPlaceholders(d.Value) // resolves placeholders too
				_ = d.Position("/metadata/name")
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%d bytes took %s", len(data), d)
		}
	})
}

const groupDoc = "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: a, description: {$text: ./x.md}}\nspec: {type: team, children: [], profile: {$json: ./p.json}}\n"

func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{"kind=component,spec.type=service", "spec.owner", "=x", ",", "relations.ownedby=group:a", "a=b,a=c,a"} {
		f.Add(seed, "kind=api")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if fl, err := catalog.ParseFilter([]string{a, b}); err == nil {
			for _, set := range fl.Sets {
				for _, c := range set {
					if c.Key == "" {
						t.Fatalf("ParseFilter(%q, %q) accepted a condition without a key", a, b)
					}
				}
			}
		}
	})
}

// FuzzDecodeCursor runs every cursor that decodes against a real store:
// whatever a client sends back as a cursor must be a page or a 400.
func FuzzDecodeCursor(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"q":{"l":1,"f":[[]]}}`, `{"v":1,"q":{"l":20,"f":[[{"Key":"kind","Values":["component"]}]]}}`,
		`{"v":1,"q":{"l":-1,"off":-5}}`, `{"v":1,"q":{"o":[{"key":""}]}}`, `{"v":2}`, `[]`,
		`{"v":1,"q":{"f":[[{"Key":"relations.ownedby","Values":[""]}]]}}`, `{"v":1,"q":{"t":"%_","tf":["metadata.name"]}}`,
	} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(seed)))
	}
	store := catalog.NewStore(testsupport.OpenDB(f, database.SQLite))
	f.Fuzz(func(t *testing.T, cursor string) {
		q, err := catalog.DecodeCursor(cursor)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = store.QueryEntities(ctx, q) // an error is fine; a panic is not
	})
}
