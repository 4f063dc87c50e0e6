# METADATA
# title: Capabilities drop ALL
# description: Every container drops all Linux capabilities (and may add back only what it needs).
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [admission]
package paved.policies.drop_capabilities

import data.paved.lib.k8s

violation contains msg if {
	names := sort([c.name | some c in k8s.containers; not drops_all(c)])
	count(names) > 0
	msg := sprintf("%s: %s must drop ALL capabilities (securityContext.capabilities.drop: [ALL])", [k8s.name, k8s.subject(names)])
}

drops_all(c) if {
	some cap in c.securityContext.capabilities.drop
	upper(cap) == "ALL"
}
