# METADATA
# title: Run as non-root
# description: >-
#   Containers run as a non-root user: runAsNonRoot is true on the pod or on
#   the container, and no container sets it to false or runAsUser to 0.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [admission]
package paved.policies.run_as_non_root

import data.paved.lib.k8s

pod_non_root if k8s.pod_spec(k8s.reviewed).securityContext.runAsNonRoot == true

violation contains msg if {
	not pod_non_root
	names := sort([c.name | some c in k8s.containers; not c.securityContext.runAsNonRoot == true])
	count(names) > 0
	msg := sprintf("%s: %s must run as non-root (securityContext.runAsNonRoot: true)", [k8s.name, k8s.subject(names)])
}

violation contains msg if {
	names := sort([c.name | some c in k8s.containers; c.securityContext.runAsNonRoot == false])
	count(names) > 0
	msg := sprintf("%s: %s %s runAsNonRoot: false", [k8s.name, k8s.subject(names), k8s.verb(names, "sets", "set")])
}

violation contains msg if {
	names := sort([c.name | some c in k8s.containers; c.securityContext.runAsUser == 0])
	count(names) > 0
	msg := sprintf("%s: %s %s as user 0 (root)", [k8s.name, k8s.subject(names), k8s.verb(names, "runs", "run")])
}
