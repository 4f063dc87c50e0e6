# METADATA
# title: Ingresses use TLS
# description: Every Ingress terminates TLS for the hosts of its rules.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [admission]
package paved.policies.ingress_tls

import data.paved.lib.k8s

tls_hosts contains host if {
	some t in k8s.reviewed.spec.tls
	some host in t.hosts
}

violation contains msg if {
	k8s.reviewed.kind == "Ingress"
	count(object.get(k8s.reviewed, ["spec", "tls"], [])) == 0
	msg := sprintf("%s: spec.tls is required", [k8s.name])
}

violation contains msg if {
	k8s.reviewed.kind == "Ingress"
	count(object.get(k8s.reviewed, ["spec", "tls"], [])) > 0
	some rule in k8s.reviewed.spec.rules
	not rule.host in tls_hosts
	msg := sprintf("%s: host %s has no TLS entry", [k8s.name, rule.host])
}
