package provision

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
	"github.com/paved-dev/paved/internal/testsupport"
)

func TestStore(t *testing.T) {
	testsupport.ForEachDialect(t, func(t *testing.T, dialect database.Dialect) {
		ctx := context.Background()
		s := NewStore(testsupport.OpenDB(t, dialect))
		now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return now }
		dev := Environment{Target: Target{Team: "payments", Service: "checkout", Environment: "dev", Cluster: DefaultCluster,
			Namespace: "payments-checkout-dev", Pipeline: ArgoCD, RepoURL: "https://git/x.git", Viewers: []string{"auditors"}},
			Status: StatusReady, Objects: []ObjectStatus{{ObjectRef: ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: "payments-checkout-dev"}, State: StateApplied, ResourceVersion: "7"}}}
		if err := s.Save(ctx, dev); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "checkout", "dev")
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now) {
			t.Errorf("times = %v, %v; want %v", got.CreatedAt, got.UpdatedAt, now)
		}
		got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got.Target, dev.Target) || got.Status != dev.Status || !reflect.DeepEqual(got.Objects, dev.Objects) {
			t.Errorf("got  %#v\nwant %#v", got, dev)
		}
		dev.CreatedAt = now

		// Saving again replaces, keeping the creation time.
		now = now.Add(time.Hour)
		dev.Status, dev.LastError = StatusFailed, "refused"
		if err := s.Save(ctx, dev); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "checkout", "dev"); got.Status != StatusFailed || !got.CreatedAt.Equal(dev.CreatedAt) || !got.UpdatedAt.Equal(now) {
			t.Errorf("after second save: %+v", got)
		}

		// Another environment may not take the same namespace.
		clash := dev
		clash.Environment = "prod"
		if err := s.Save(ctx, clash); paved.ErrorCode(err) != paved.CodeConflict {
			t.Errorf("same namespace for prod: %v, want conflict", err)
		}

		other := Environment{Target: Target{Team: "search", Service: "indexer", Environment: "prod", Cluster: DefaultCluster, Namespace: "search-indexer-prod"}, Status: StatusReady}
		if err := s.Save(ctx, other); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			f    Filter
			want []string
		}{
			{Filter{}, []string{"checkout/dev", "indexer/prod"}},
			{Filter{Team: "search"}, []string{"indexer/prod"}},
			{Filter{Service: "checkout", Cluster: DefaultCluster}, []string{"checkout/dev"}},
			{Filter{Cluster: "eu"}, nil},
		} {
			envs, err := s.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range envs {
				names = append(names, e.Target.String())
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.f, names, tc.want)
			}
		}

		events := []DriftEvent{
			{Service: "checkout", Environment: "dev", Object: ObjectRef{APIVersion: "v1", Kind: "ResourceQuota", Namespace: "payments-checkout-dev", Name: quotaName},
				Reason: DriftChanged, Fields: []FieldDrift{{Path: "spec.hard.pods", Live: "500", Desired: "50"}}, ChangedBy: []string{"kubectl-edit"}, CorrectedBy: "replica-a", CorrectedAt: now},
			{Service: "checkout", Environment: "dev", Object: ObjectRef{APIVersion: "v1", Kind: "ServiceAccount", Namespace: "payments-checkout-dev", Name: "paved-deployer"},
				Reason: DriftDeleted, CorrectedBy: "replica-a", CorrectedAt: now},
		}
		if err := s.AddDrift(ctx, events); err != nil {
			t.Fatal(err)
		}
		drift, err := s.Drift(ctx, "checkout", "dev", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(drift) != 2 || drift[0].Object.Kind != "ServiceAccount" || drift[1].Fields[0] != events[0].Fields[0] || drift[1].ChangedBy[0] != "kubectl-edit" {
			t.Errorf("drift = %+v, want both events newest first", drift)
		}

		reconciled := now.Add(time.Minute)
		dev.Status, dev.LastReconciledAt = StatusReady, &reconciled
		if err := s.UpdateState(ctx, dev); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "checkout", "dev"); got.Status != StatusReady || got.LastReconciledAt == nil || !got.LastReconciledAt.Equal(reconciled) {
			t.Errorf("after UpdateState: %+v", got)
		}

		if err := s.Delete(ctx, "checkout", "dev"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "checkout", "dev"); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Errorf("after delete: %v", err)
		}
		if d, _ := s.Drift(ctx, "checkout", "dev", 10); len(d) != 0 {
			t.Errorf("drift kept after delete: %v", d)
		}
		// A reconcile finishing after the delete does not bring it back.
		if err := s.UpdateState(ctx, dev); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "checkout", "dev"); paved.ErrorCode(err) != paved.CodeNotFound {
			t.Errorf("UpdateState resurrected a deleted environment: %v", err)
		}
	})
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Settings)
		field  string
	}{
		{"pattern without env", func(s *Settings) { s.NamespacePattern = "{team}-{service}" }, "provisioning.namespacePattern"},
		{"unknown mesh", func(s *Settings) { s.Mesh = "consul" }, "provisioning.mesh"},
		{"unknown cluster", func(s *Settings) { s.Environments[2].Cluster = "eu" }, "provisioning.environments[2].cluster"},
		{"bad quantity", func(s *Settings) { s.Environments[0].Quota["pods"] = "lots" }, "provisioning.environments[0].quota.pods"},
		{"bad pod security", func(s *Settings) { s.Environments[1].PodSecurity = "strict" }, "provisioning.environments[1].podSecurity"},
		{"unknown pipeline", func(s *Settings) { s.Environments[0].Pipeline = "jenkins" }, "provisioning.environments[0].pipeline"},
		{"duplicate environment", func(s *Settings) { s.Environments[1].Name = "dev" }, "provisioning.environments[1].name"},
		{"cluster without kubeconfig", func(s *Settings) { s.Clusters = map[string]ClusterSettings{"eu": {}} }, "provisioning.clusters.eu.kubeconfig"},
		{"no interval", func(s *Settings) { s.ReconcileInterval = 0 }, "provisioning.reconcileInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			tc.mutate(&s)
			err := s.Validate()
			pe, ok := err.(*paved.Error)
			if !ok || len(pe.Details) != 1 || pe.Details[0].Field != tc.field {
				t.Errorf("Validate() = %v, want one detail on %s", err, tc.field)
			}
		})
	}
}

// Validate only reads: settings that passed it are unchanged, and settings
// left incomplete stay so (ApplyDefaults completes them).
func TestSettingsValidateChangesNothing(t *testing.T) {
	s := DefaultSettings()
	s.Mesh = "istio"
	s.Environments = append(s.Environments, Profile{Name: "qa"})
	before := DefaultSettings()
	before.Mesh = "istio"
	before.Environments = append(before.Environments, Profile{Name: "qa"})
	err := s.Validate()
	if !reflect.DeepEqual(s, before) {
		t.Errorf("Validate changed the settings: %+v", s)
	}
	// Without defaults, qa has no cluster and no Pod Security level.
	pe, ok := err.(*paved.Error)
	if !ok || len(pe.Details) != 2 || pe.Details[0].Field != "provisioning.environments[3].cluster" || pe.Details[1].Field != "provisioning.environments[3].podSecurity" {
		t.Errorf("Validate() = %v, want the missing cluster and pod security of qa", err)
	}
}

func TestSettingsApplyDefaults(t *testing.T) {
	for _, tc := range []struct {
		mesh, revision string
		want           []string
	}{{"none", "", nil}, {"istio", "", []string{"istio-system"}}, {"linkerd", "", []string{"linkerd"}}} {
		t.Run(tc.mesh, func(t *testing.T) {
			s := DefaultSettings()
			s.Mesh = tc.mesh
			s.Environments = append(s.Environments, Profile{Name: "qa"})
			s.ApplyDefaults()
			if !reflect.DeepEqual(s.MeshNamespaces, tc.want) {
				t.Errorf("mesh namespaces = %v, want %v", s.MeshNamespaces, tc.want)
			}
			if qa := s.Environments[3]; qa.Cluster != "default" || qa.PodSecurity != "restricted" {
				t.Errorf("qa = %+v, want cluster default and pod security restricted", qa)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("Validate() after ApplyDefaults = %v", err)
			}
		})
	}
	// Given mesh namespaces are kept.
	s := DefaultSettings()
	s.Mesh, s.MeshNamespaces = "istio", []string{"mesh"}
	s.ApplyDefaults()
	if !reflect.DeepEqual(s.MeshNamespaces, []string{"mesh"}) {
		t.Errorf("mesh namespaces = %v, want the configured [mesh]", s.MeshNamespaces)
	}
}
