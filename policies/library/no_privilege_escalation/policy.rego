# METADATA
# title: No privilege escalation
# description: Every container sets securityContext.allowPrivilegeEscalation to false.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [admission]
package paved.policies.no_privilege_escalation

import data.paved.lib.k8s

violation contains msg if {
	names := sort([c.name | some c in k8s.containers; not c.securityContext.allowPrivilegeEscalation == false])
	count(names) > 0
	msg := sprintf("%s: %s must set securityContext.allowPrivilegeEscalation: false", [k8s.name, k8s.subject(names)])
}
