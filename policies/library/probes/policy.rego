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
	some c in k8s.main_containers
	some probe in ["readinessProbe", "livenessProbe"]
	not c[probe]
	msg := sprintf("%s: container %s must declare a %s", [k8s.name, c.name, probe])
}
