package catalog

import (
	"reflect"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		Name, In, DefKind, DefNS string
		Want                     string
		WantErr                  bool
	}{
		{"Full", "Component:Prod/Payments", "", "", "component:prod/payments", false},
		{"DefaultKind", "team-a", "Group", "", "group:default/team-a", false},
		{"InheritNamespace", "team-a", "Group", "ops", "group:ops/team-a", false},
		{"NamespaceNoKind", "backstage/techdocs-core", "Group", "", "group:backstage/techdocs-core", false},
		{"ColonAfterSlash", "ns/name:x", "API", "", "api:ns/name:x", false},
		{"EmailOwner", "hugo.wood@zenika.com", "Group", "", "group:default/hugo.wood@zenika.com", false},
		{"NoKindNoDefault", "payments", "", "", "", true},
		{"EmptyKind", ":payments", "Group", "", "", true},
		{"EmptyNamespace", "group:/payments", "", "", "", true},
		{"EmptyName", "group:default/", "", "", "", true},
		{"Empty", "", "Group", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got, err := ParseRef(tt.In, tt.DefKind, tt.DefNS)
			if (err != nil) != tt.WantErr || (err == nil && got.String() != tt.Want) {
				t.Fatalf("ParseRef(%q) = %v, %v; want %q (error %v)", tt.In, got, err, tt.Want, tt.WantErr)
			}
		})
	}
}

func TestEdges(t *testing.T) {
	docs, err := ParseDocuments([]byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments, namespace: shop}
spec:
  type: service
  lifecycle: production
  owner: team-a
  system: checkout
  providesApis: [payments-api]
  consumesApis: ["api:default/fx"]
  dependsOn: ["resource:payments-db", "ledger"]
`))
	if err != nil {
		t.Fatal(err)
	}
	raw, errs := NewRaw(docs[0].Value)
	if errs != nil {
		t.Fatal(errs)
	}
	edges, refErrs := Edges(raw)
	self := "component:shop/payments"
	var got []string
	for _, e := range edges {
		got = append(got, e.Source.String()+" "+e.Type+" "+e.Target.String())
	}
	want := []string{
		self + " ownedBy group:shop/team-a", "group:shop/team-a ownerOf " + self,
		self + " providesApi api:shop/payments-api", "api:shop/payments-api apiProvidedBy " + self,
		self + " consumesApi api:default/fx", "api:default/fx apiConsumedBy " + self,
		self + " dependsOn resource:shop/payments-db", "resource:shop/payments-db dependencyOf " + self,
		self + " partOf system:shop/checkout", "system:shop/checkout hasPart " + self,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("edges:\n%v\nwant\n%v", got, want)
	}
	if len(refErrs) != 1 || refErrs[0].Pointer != "/spec/dependsOn/1" {
		t.Fatalf("ref errors = %v, want one for the kindless dependsOn entry", refErrs)
	}
}
