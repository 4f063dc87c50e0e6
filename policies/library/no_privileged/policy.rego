# METADATA
# title: No privileged containers
# description: >-
#   A privileged container has the host's full set of devices and
#   capabilities; none may run.
# custom:
#   severity: critical
#   enforcement: deny
#   targets: [admission]
package paved.policies.no_privileged

import data.paved.lib.k8s

violation contains msg if {
	some c in k8s.containers
	c.securityContext.privileged == true
	msg := sprintf("%s: container %s must not be privileged", [k8s.name, c.name])
}
