package provision

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
	"k8s.io/client-go/kubernetes"
)

// Names of the objects Paved puts in every namespace.
const (
	quotaName       = "paved-quota"
	limitRangeName  = "paved-limits"
	teamBindingName = "paved-team-edit"
	viewBindingName = "paved-viewers"
	deployerName    = "paved-deployer"
)

// namespaceObjects is everything a well-run team namespace has, the
// namespace first: it must exist before what goes in it. A profile without
// quota or limits gets no ResourceQuota or LimitRange.
func (s *Settings) namespaceObjects(t Target) []Object {
	objs := []Object{s.namespace(t)}
	if len(t.profile.Quota) > 0 {
		objs = append(objs, quota(t))
	}
	if l := t.profile.Limits; len(l.Default)+len(l.DefaultRequest)+len(l.Max) > 0 {
		objs = append(objs, limitRange(t))
	}
	objs = append(objs, s.networkPolicies(t)...)
	objs = append(objs, s.roleBindings(t)...)
	return append(objs, s.deployer(t)...)
}

func (s *Settings) namespace(t Target) Object {
	labels := targetLabels(t)
	labels["pod-security.kubernetes.io/enforce"] = t.profile.PodSecurity
	labels["pod-security.kubernetes.io/enforce-version"] = "latest"
	// Warn and audit at restricted everywhere, so teams see in dev what
	// prod would refuse.
	labels["pod-security.kubernetes.io/warn"] = "restricted"
	labels["pod-security.kubernetes.io/audit"] = "restricted"
	ns := corev1ac.Namespace(t.Namespace)
	switch {
	case s.Mesh == "istio" && s.IstioRevision != "":
		labels["istio.io/rev"] = s.IstioRevision
	case s.Mesh == "istio":
		labels["istio-injection"] = "enabled"
	case s.Mesh == "linkerd":
		// Linkerd reads an annotation, not a label.
		ns.WithAnnotations(map[string]string{"linkerd.io/inject": "enabled"})
	}
	ns.WithLabels(labels)
	return typedObject(ns, func(cs kubernetes.Interface) applyFunc[*corev1ac.NamespaceApplyConfiguration, *corev1.Namespace] {
		return cs.CoreV1().Namespaces().Apply
	})
}

func quota(t Target) Object {
	q := corev1ac.ResourceQuota(quotaName, t.Namespace).WithLabels(targetLabels(t)).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(resourceList(t.profile.Quota)))
	return typedObject(q, func(cs kubernetes.Interface) applyFunc[*corev1ac.ResourceQuotaApplyConfiguration, *corev1.ResourceQuota] {
		return cs.CoreV1().ResourceQuotas(t.Namespace).Apply
	})
}

func limitRange(t Target) Object {
	l := t.profile.Limits
	item := corev1ac.LimitRangeItem().WithType(corev1.LimitTypeContainer)
	if len(l.Default) > 0 {
		item.WithDefault(resourceList(l.Default))
	}
	if len(l.DefaultRequest) > 0 {
		item.WithDefaultRequest(resourceList(l.DefaultRequest))
	}
	if len(l.Max) > 0 {
		item.WithMax(resourceList(l.Max))
	}
	lr := corev1ac.LimitRange(limitRangeName, t.Namespace).WithLabels(targetLabels(t)).
		WithSpec(corev1ac.LimitRangeSpec().WithLimits(item))
	return typedObject(lr, func(cs kubernetes.Interface) applyFunc[*corev1ac.LimitRangeApplyConfiguration, *corev1.LimitRange] {
		return cs.CoreV1().LimitRanges(t.Namespace).Apply
	})
}

// resourceList parses quantities that Settings.Validate has checked.
func resourceList(m map[string]string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range m {
		out[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return out
}

// networkPolicies deny all traffic, then allow DNS, traffic within the
// namespace, and traffic from the ingress, mesh and monitoring namespaces.
func (s *Settings) networkPolicies(t Target) []Object {
	all := metav1ac.LabelSelector()
	both := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	policies := []*networkingv1ac.NetworkPolicyApplyConfiguration{
		netpol(t, "paved-default-deny", networkingv1ac.NetworkPolicySpec().WithPodSelector(all).WithPolicyTypes(both...)),
		netpol(t, "paved-allow-dns", networkingv1ac.NetworkPolicySpec().WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(networkingv1ac.NetworkPolicyPeer().
					WithNamespaceSelector(namespacesNamed("kube-system")).
					WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))).
				WithPorts(dnsPort(corev1.ProtocolUDP), dnsPort(corev1.ProtocolTCP)))),
		netpol(t, "paved-allow-same-namespace", networkingv1ac.NetworkPolicySpec().WithPodSelector(all).WithPolicyTypes(both...).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(all))).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(all)))),
	}
	if len(s.IngressNamespaces) > 0 {
		policies = append(policies, netpol(t, "paved-allow-ingress", allowFrom(s.IngressNamespaces)))
	}
	if len(s.MeshNamespaces) > 0 {
		// Sidecars also reach their control plane.
		spec := allowFrom(s.MeshNamespaces).WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(namespacesNamed(s.MeshNamespaces...))))
		policies = append(policies, netpol(t, "paved-allow-mesh", spec))
	}
	if len(s.MonitoringNamespaces) > 0 {
		policies = append(policies, netpol(t, "paved-allow-monitoring", allowFrom(s.MonitoringNamespaces)))
	}
	objs := make([]Object, len(policies))
	for i, p := range policies {
		objs[i] = typedObject(p, func(cs kubernetes.Interface) applyFunc[*networkingv1ac.NetworkPolicyApplyConfiguration, *networkingv1.NetworkPolicy] {
			return cs.NetworkingV1().NetworkPolicies(t.Namespace).Apply
		})
	}
	return objs
}

func netpol(t Target, name string, spec *networkingv1ac.NetworkPolicySpecApplyConfiguration) *networkingv1ac.NetworkPolicyApplyConfiguration {
	return networkingv1ac.NetworkPolicy(name, t.Namespace).WithLabels(targetLabels(t)).WithSpec(spec)
}

func allowFrom(namespaces []string) *networkingv1ac.NetworkPolicySpecApplyConfiguration {
	return networkingv1ac.NetworkPolicySpec().WithPodSelector(metav1ac.LabelSelector()).
		WithPolicyTypes(networkingv1.PolicyTypeIngress).
		WithIngress(networkingv1ac.NetworkPolicyIngressRule().
			WithFrom(networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(namespacesNamed(namespaces...))))
}

// namespacesNamed selects namespaces by the name label the API server sets
// on every namespace.
func namespacesNamed(names ...string) *metav1ac.LabelSelectorApplyConfiguration {
	return metav1ac.LabelSelector().WithMatchExpressions(metav1ac.LabelSelectorRequirement().
		WithKey(corev1.LabelMetadataName).WithOperator(metav1.LabelSelectorOpIn).WithValues(names...))
}

func dnsPort(proto corev1.Protocol) *networkingv1ac.NetworkPolicyPortApplyConfiguration {
	return networkingv1ac.NetworkPolicyPort().WithProtocol(proto).WithPort(intstr.FromInt32(53))
}

// roleBindings give the team's group edit and the viewers view.
func (s *Settings) roleBindings(t Target) []Object {
	editors, viewers := s.groups(t.Team, t.Viewers)
	bindings := []*rbacv1ac.RoleBindingApplyConfiguration{
		roleBinding(t, teamBindingName, "ClusterRole", "edit", groupSubject(editors)),
	}
	if len(viewers) > 0 {
		subjects := make([]*rbacv1ac.SubjectApplyConfiguration, len(viewers))
		for i, g := range viewers {
			subjects[i] = groupSubject(g)
		}
		bindings = append(bindings, roleBinding(t, viewBindingName, "ClusterRole", "view", subjects...))
	}
	objs := make([]Object, len(bindings))
	for i, b := range bindings {
		objs[i] = roleBindingObject(t, b)
	}
	return objs
}

func roleBinding(t Target, name, roleKind, role string, subjects ...*rbacv1ac.SubjectApplyConfiguration) *rbacv1ac.RoleBindingApplyConfiguration {
	return rbacv1ac.RoleBinding(name, t.Namespace).WithLabels(targetLabels(t)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind(roleKind).WithName(role)).
		WithSubjects(subjects...)
}

func roleBindingObject(t Target, b *rbacv1ac.RoleBindingApplyConfiguration) Object {
	return typedObject(b, func(cs kubernetes.Interface) applyFunc[*rbacv1ac.RoleBindingApplyConfiguration, *rbacv1.RoleBinding] {
		return cs.RbacV1().RoleBindings(t.Namespace).Apply
	})
}

func groupSubject(name string) *rbacv1ac.SubjectApplyConfiguration {
	return rbacv1ac.Subject().WithKind(rbacv1.GroupKind).WithAPIGroup(rbacv1.GroupName).WithName(name)
}

// deployerRules are what a CI pipeline needs to roll out a service: its
// workloads, their configuration and networking, never RBAC or quotas.
var deployerRules = []struct{ groups, resources []string }{
	{[]string{""}, []string{"configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims"}},
	{[]string{"apps"}, []string{"deployments", "statefulsets", "daemonsets"}},
	{[]string{"batch"}, []string{"jobs", "cronjobs"}},
	{[]string{"networking.k8s.io"}, []string{"ingresses"}},
	{[]string{"autoscaling"}, []string{"horizontalpodautoscalers"}},
	{[]string{"policy"}, []string{"poddisruptionbudgets"}},
}

// deployer is the CI service account, its Role and the binding of the two.
func (s *Settings) deployer(t Target) []Object {
	sa := corev1ac.ServiceAccount(s.Deployer.ServiceAccount, t.Namespace).WithLabels(targetLabels(t))
	role := rbacv1ac.Role(deployerName, t.Namespace).WithLabels(targetLabels(t))
	for _, r := range deployerRules {
		role.WithRules(rbacv1ac.PolicyRule().WithAPIGroups(r.groups...).WithResources(r.resources...).
			WithVerbs("get", "list", "watch", "create", "update", "patch", "delete"))
	}
	role.WithRules(rbacv1ac.PolicyRule().WithAPIGroups("").WithResources("pods", "pods/log", "events").WithVerbs("get", "list", "watch"))
	binding := roleBinding(t, deployerName, "Role", deployerName,
		rbacv1ac.Subject().WithKind(rbacv1.ServiceAccountKind).WithName(s.Deployer.ServiceAccount).WithNamespace(t.Namespace))
	return []Object{
		typedObject(sa, func(cs kubernetes.Interface) applyFunc[*corev1ac.ServiceAccountApplyConfiguration, *corev1.ServiceAccount] {
			return cs.CoreV1().ServiceAccounts(t.Namespace).Apply
		}),
		typedObject(role, func(cs kubernetes.Interface) applyFunc[*rbacv1ac.RoleApplyConfiguration, *rbacv1.Role] {
			return cs.RbacV1().Roles(t.Namespace).Apply
		}),
		roleBindingObject(t, binding),
	}
}
