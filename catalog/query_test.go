package catalog_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/catalog"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

// queryFixture: two teams, five components over two types, one API.
func queryFixture(t *testing.T, dialect database.Dialect) *catalog.Store {
	t.Helper()
	var b strings.Builder
	b.WriteString(shopYAML)
	for i, c := range []struct{ name, typ, owner string }{
		{"cart", "service", "team-a"}, {"ui-kit", "library", "team-b"}, {"search", "service", "team-b"},
		{"Checkout-Web", "website", "team-a"}, {"ledger", "service", "team-b"},
	} {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: %s, title: Item %d}\nspec: {type: %s, lifecycle: production, owner: %s}\n", c.name, i, c.typ, c.owner)
	}
	s, loc := newStore(t, dialect)
	if _, err := s.ApplyLocation(context.Background(), loc, catalog.Emitted{Entities: mustRaws(t, b.String())}, catalog.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func names(items []catalog.Raw) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.Ref().Name)
	}
	return out
}

func TestQueryEntities(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s := queryFixture(t, dialect)
		byName := []catalog.OrderField{{Key: "metadata.name"}}
		tests := []struct {
			Name     string
			Filters  []string
			Order    []catalog.OrderField
			FullText string
			Want     []string
			Fields   []string
		}{
			{"All", nil, byName, "", []string{"cart", "Checkout-Web", "ledger", "payments", "payments-api", "search", "team-a", "ui-kit"}, nil},
			{"AndWithinParam", []string{"kind=component,spec.owner=team-b"}, byName, "", []string{"ledger", "search", "ui-kit"}, nil},
			{"CaseInsensitive", []string{"KIND=Component,Spec.Type=SERVICE"}, byName, "", []string{"cart", "ledger", "payments", "search"}, nil},
			{"OrAcrossParams", []string{"kind=api", "spec.type=website"}, byName, "", []string{"Checkout-Web", "payments-api"}, nil},
			{"AnyOfSameKey", []string{"spec.type=library,spec.type=website"}, byName, "", []string{"Checkout-Web", "ui-kit"}, nil},
			{"Exists", []string{"spec.providesapis"}, byName, "", []string{"payments"}, nil},
			{"DottedIntoArray", []string{"spec.providesapis=payments-api"}, byName, "", []string{"payments"}, nil},
			{"Relation", []string{"relations.ownedby=group:default/team-a"}, byName, "", []string{"cart", "Checkout-Web", "payments", "payments-api"}, nil},
			{"RelationFromOthers", []string{"relations.ownerof=component:default/cart"}, byName, "", []string{"team-a"}, nil},
			{"Descending", []string{"kind=component,spec.owner=team-a"}, []catalog.OrderField{{Key: "metadata.name", Desc: true}}, "", []string{"payments", "Checkout-Web", "cart"}, nil},
			{"FullText", []string{"kind=component"}, byName, "CHECK", []string{"Checkout-Web"}, nil},
			{"FullTextTitle", nil, byName, "item 2", []string{"search"}, nil},
			{"NoMatch", []string{"kind=template"}, byName, "", []string{}, nil},
			// Terms under three characters have no trigram and scan instead.
			{"FullTextShortTerm", nil, byName, "ui", []string{"ui-kit"}, nil},
			// The trigram index holds name and title together; a search of
			// one field must not match the other.
			{"FullTextNameOnly", nil, byName, "item 2", []string{}, []string{"metadata.name"}},
			{"FullTextTitleOnly", nil, byName, "cart", []string{}, []string{"metadata.title"}},
			// _ and % are literal characters, not LIKE wildcards.
			{"FullTextUnderscoreIsLiteral", nil, byName, "i_k", []string{}, nil},
			{"FullTextPercentIsLiteral", nil, byName, "ca%t", []string{}, nil},
			// A field outside the trigram index.
			{"FullTextOtherField", nil, byName, "WEBSI", []string{"Checkout-Web"}, []string{"spec.type"}},
		}
		for _, tt := range tests {
			t.Run(tt.Name, func(t *testing.T) {
				f, err := catalog.ParseFilter(tt.Filters)
				if err != nil {
					t.Fatal(err)
				}
				page, err := s.QueryEntities(context.Background(), catalog.Query{Filter: f, Order: tt.Order, FullText: tt.FullText, FullTextFields: tt.Fields, Limit: 50})
				if err != nil {
					t.Fatal(err)
				}
				if got := names(page.Items); !reflect.DeepEqual(got, tt.Want) || page.TotalItems != len(tt.Want) {
					t.Fatalf("got %v (total %d), want %v", got, page.TotalItems, tt.Want)
				}
			})
		}
	})
}

// Following cursors visits every entity once, in order, and back again.
func TestQueryPagesThroughCursors(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s := queryFixture(t, dialect)
		ctx := context.Background()
		q := catalog.Query{Order: []catalog.OrderField{{Key: "metadata.name"}}, Limit: 3}
		var seen []string
		var pages []catalog.Page
		for {
			page, err := s.QueryEntities(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, page)
			seen = append(seen, names(page.Items)...)
			if page.Next == nil {
				break
			}
			q, err = catalog.DecodeCursor(catalog.EncodeCursor(page.Next))
			if err != nil {
				t.Fatal(err)
			}
		}
		want := []string{"cart", "Checkout-Web", "ledger", "payments", "payments-api", "search", "team-a", "ui-kit"}
		if !reflect.DeepEqual(seen, want) || len(pages) != 3 {
			t.Fatalf("pages gave %v in %d pages, want %v in 3", seen, len(pages), want)
		}
		prev, err := s.QueryEntities(ctx, *pages[2].Prev)
		if err != nil || !reflect.DeepEqual(names(prev.Items), names(pages[1].Items)) {
			t.Fatalf("prev of the last page = %v, %v; want %v", names(prev.Items), err, names(pages[1].Items))
		}
		past, err := s.QueryEntities(ctx, catalog.Query{Limit: 3, Offset: 30})
		if err != nil || len(past.Items) != 0 || past.TotalItems != len(want) || past.Next != nil {
			t.Fatalf("a page past the end = %d items, total %d, next %v, %v; want none of %d", len(past.Items), past.TotalItems, past.Next, err, len(want))
		}
		if _, err := catalog.DecodeCursor("not-a-cursor"); paved.ErrorCode(err) != paved.CodeInvalid {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

// The trigram index behind full-text search follows renames and deletions.
func TestFullTextFollowsChanges(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s, loc := newStore(t, dialect)
		ctx := context.Background()
		apply := func(title string) {
			t.Helper()
			doc := fmt.Sprintf("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc, title: %q}\nspec: {type: service, lifecycle: production, owner: team-a}\n", title)
			if _, err := s.ApplyLocation(ctx, loc, catalog.Emitted{Entities: mustRaws(t, doc)}, catalog.ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		search := func(term string, fields ...string) []catalog.Raw {
			t.Helper()
			page, err := s.QueryEntities(ctx, catalog.Query{FullText: term, FullTextFields: fields})
			if err != nil {
				t.Fatal(err)
			}
			return page.Items
		}
		apply("Alpha Service")
		if got := search("alpha"); len(got) != 1 {
			t.Fatalf("alpha before the rename found %v", names(got))
		}
		apply("Beta\nService") // a title may hold a newline, which search_text uses as separator
		if got := search("alpha"); len(got) != 0 {
			t.Fatalf("alpha after the rename found %v", names(got))
		}
		found := search("beta")
		if len(found) != 1 {
			t.Fatalf("beta after the rename found %v", names(found))
		}
		if got := search("service", "metadata.title"); len(got) != 1 {
			t.Fatalf("the title's second line found %v", names(got))
		}
		if got := search("svc", "metadata.title"); len(got) != 0 {
			t.Fatalf("the name searched as title found %v", names(got))
		}
		if got := search("svc", "metadata.name"); len(got) != 1 {
			t.Fatalf("the name found %v", names(got))
		}
		uid, _ := found[0].Metadata()["uid"].(string)
		if err := s.DeleteEntity(ctx, uid); err != nil {
			t.Fatal(err)
		}
		if got := search("beta"); len(got) != 0 {
			t.Fatalf("beta after the delete found %v", names(got))
		}
	})
}

func TestFacets(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		s := queryFixture(t, dialect)
		f, _ := catalog.ParseFilter([]string{"kind=component"})
		got, err := s.Facets(context.Background(), []string{"spec.type", "spec.owner", "relations.ownedBy", "kind"}, f)
		if err != nil {
			t.Fatal(err)
		}
		// Sorted by value, as Backstage does; relation facets count the
		// relation's targets, under the key as asked; a value is shown as
		// written (kind: Component), counted whatever its case.
		want := map[string][]catalog.Facet{
			"kind":              {{"Component", 6}},
			"spec.type":         {{"library", 1}, {"service", 4}, {"website", 1}},
			"spec.owner":        {{"team-a", 3}, {"team-b", 3}},
			"relations.ownedBy": {{"group:default/team-a", 3}, {"group:default/team-b", 3}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("facets = %v, want %v", got, want)
		}
	})
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct{ Name, In, Want string }{
		{"EmptyKey", "kind=component,=x", "filter[0]: position 16: missing key before '='"},
		{"EmptyValue", "kind=", "filter[0]: position 6: missing value after 'kind='"},
		{"EmptyPart", "kind=api,,spec.type=x", "filter[0]: position 10: empty condition"},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			_, err := catalog.ParseFilter([]string{tt.In})
			if paved.ErrorCode(err) != paved.CodeInvalid || !strings.Contains(err.Error(), tt.Want) {
				t.Fatalf("ParseFilter(%q) = %v, want an invalid error containing %q", tt.In, err, tt.Want)
			}
		})
	}
}
