package webhook

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/paved-dev/paved/policies"
)

// Name names the webhook in its configuration.
const Name = "policies.paved.dev"

// admissionRules are the kinds the policies judge: workloads, Services and
// Ingresses, when created or updated.
var admissionRules = []struct {
	group, version string
	resources      []string
}{
	{"", "v1", []string{"pods", "services"}},
	{"apps", "v1", []string{"deployments", "statefulsets", "daemonsets", "replicasets"}},
	{"batch", "v1", []string{"jobs", "cronjobs"}},
	{"networking.k8s.io", "v1", []string{"ingresses"}},
}

// Configuration returns the ValidatingWebhookConfiguration that sends
// admission reviews to Paved. Requests in kube-system and the exempt
// namespaces are never sent, nor are those in namespaces labelled
// policies.ExemptLabel=true: the namespaceSelector leaves them out, so
// the API server does not even call Paved for them.
func Configuration(o Options, exempt []string, caBundle []byte) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	failure := admissionregistrationv1.Ignore
	if o.FailurePolicy == "Fail" {
		failure = admissionregistrationv1.Fail
	}
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	scope := admissionregistrationv1.NamespacedScope
	timeout := int32(3)
	client, err := clientConfig(o.AdmissionURL(), caBundle)
	if err != nil {
		return nil, err
	}
	skipped := []string{"kube-system"}
	for _, ns := range exempt {
		if !slices.Contains(skipped, ns) {
			skipped = append(skipped, ns)
		}
	}
	hook := admissionregistrationv1.ValidatingWebhook{
		Name:                    Name,
		ClientConfig:            client,
		FailurePolicy:           &failure,
		MatchPolicy:             &equivalent,
		SideEffects:             &none,
		TimeoutSeconds:          &timeout,
		AdmissionReviewVersions: []string{"v1"},
		NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: skipped},
			{Key: policies.ExemptLabel, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"true"}},
		}},
	}
	for _, r := range admissionRules {
		hook.Rules = append(hook.Rules, admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{r.group}, APIVersions: []string{r.version},
				Resources: r.resources, Scope: &scope},
		})
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: "paved-policies", Labels: map[string]string{"app.kubernetes.io/managed-by": "paved"}},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{hook},
	}, nil
}

// clientConfig points at a Service for <name>.<namespace>.svc
// hosts (the API server reaches Services through its own proxy, not
// cluster DNS) and at the URL otherwise.
func clientConfig(raw string, caBundle []byte) (admissionregistrationv1.WebhookClientConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return admissionregistrationv1.WebhookClientConfig{}, fmt.Errorf("webhook URL %q: %w", raw, err)
	}
	host := u.Hostname()
	if parts := strings.Split(host, "."); len(parts) == 3 && parts[2] == "svc" && net.ParseIP(host) == nil {
		port := int32(443)
		if p := u.Port(); p != "" {
			n, _ := strconv.Atoi(p)
			port = int32(n)
		}
		path := u.Path
		return admissionregistrationv1.WebhookClientConfig{CABundle: caBundle, Service: &admissionregistrationv1.ServiceReference{
			Namespace: parts[1], Name: parts[0], Path: &path, Port: &port}}, nil
	}
	return admissionregistrationv1.WebhookClientConfig{CABundle: caBundle, URL: &raw}, nil
}

// Manifest is the configuration as YAML, for kubectl apply.
func Manifest(o Options, exempt []string, caBundle []byte) ([]byte, error) {
	obj, err := Configuration(o, exempt, caBundle)
	if err != nil {
		return nil, err
	}
	body, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	head := "# Sends admission reviews of workloads, Services and Ingresses to Paved.\n" +
		"# failurePolicy " + o.FailurePolicy + ": see docs/architecture.md (admission) for the trade-off.\n" +
		"# Namespaces labelled " + policies.ExemptLabel + "=true are never sent.\n"
	return append([]byte(head), body...), nil
}
