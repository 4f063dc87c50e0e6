# METADATA
# title: Resource requests and limits
# description: >-
#   Every main container requests and limits CPU and memory, and its limits
#   stay under the configured maxima (4 CPUs and 8Gi by default).
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [admission]
package paved.policies.resources

import data.paved.lib.k8s

# Parameters: data.params.resources.max_cpu and max_memory, as Kubernetes
# quantities.
max_cpu := object.get(data.params, ["resources", "max_cpu"], "4")

max_memory := object.get(data.params, ["resources", "max_memory"], "8Gi")

quantity_pattern := `^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`

violation contains msg if {
	some c in k8s.main_containers
	some kind in ["requests", "limits"]
	some resource in ["cpu", "memory"]
	not c.resources[kind][resource]
	msg := sprintf("%s: container %s must set resources.%s.%s", [k8s.name, c.name, kind, resource])
}

violation contains msg if {
	some c in k8s.main_containers
	some kind in ["requests", "limits"]
	some resource in ["cpu", "memory"]
	q := c.resources[kind][resource]
	not regex.match(quantity_pattern, sprintf("%v", [q]))
	msg := sprintf("%s: container %s has an invalid quantity %v in resources.%s.%s", [k8s.name, c.name, q, kind, resource])
}

violation contains msg if {
	some c in k8s.main_containers
	q := sprintf("%v", [c.resources.limits.cpu])
	regex.match(quantity_pattern, q)
	units.parse(q) > units.parse(max_cpu)
	msg := sprintf("%s: container %s limits cpu to %s, above the maximum %s", [k8s.name, c.name, q, max_cpu])
}

violation contains msg if {
	some c in k8s.main_containers
	q := sprintf("%v", [c.resources.limits.memory])
	regex.match(quantity_pattern, q)
	units.parse_bytes(q) > units.parse_bytes(max_memory)
	msg := sprintf("%s: container %s limits memory to %s, above the maximum %s", [k8s.name, c.name, q, max_memory])
}
