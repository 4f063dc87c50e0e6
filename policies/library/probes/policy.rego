# METADATA
# title: Readiness and liveness probes
# description: Every main container declares a readiness and a liveness probe.
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [admission]
package paved.policies.probes

import data.paved.lib.k8s

violation contains msg if {
	some probe in ["readinessProbe", "livenessProbe"]
	names := sort([c.name | some c in k8s.main_containers; not c[probe]])
	count(names) > 0
	msg := sprintf("%s: %s must declare a %s", [k8s.name, k8s.subject(names), probe])
}
