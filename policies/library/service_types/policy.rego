# METADATA
# title: No NodePort or LoadBalancer Services
# description: Services stay inside the cluster; traffic enters through the ingress.
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [admission]
package paved.policies.service_types

import data.paved.lib.k8s

violation contains msg if {
	k8s.reviewed.kind == "Service"
	k8s.reviewed.spec.type in {"NodePort", "LoadBalancer"}
	msg := sprintf("%s: type %s is not allowed; use ClusterIP behind the ingress", [k8s.name, k8s.reviewed.spec.type])
}
