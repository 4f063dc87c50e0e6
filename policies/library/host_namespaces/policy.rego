# METADATA
# title: No host namespaces or host ports
# description: Pods do not share the node's PID, IPC or network namespace, and containers bind no host ports.
# custom:
#   severity: critical
#   enforcement: deny
#   targets: [admission]
package paved.policies.host_namespaces

import data.paved.lib.k8s

violation contains msg if {
	some field in ["hostPID", "hostIPC", "hostNetwork"]
	k8s.pod_spec(k8s.reviewed)[field] == true
	msg := sprintf("%s: %s must not be true", [k8s.name, field])
}

violation contains msg if {
	some c in k8s.containers
	some port in c.ports
	port.hostPort > 0
	msg := sprintf("%s: container %s must not bind hostPort %d", [k8s.name, c.name, port.hostPort])
}
