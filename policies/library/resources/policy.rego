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

# The maxima, parsed once per evaluation rather than once per container.
max_cpu_cores := units.parse(max_cpu)

max_memory_bytes := units.parse_bytes(max_memory)

# Every quantity a main container declares, as text, with where it is.
quantities contains [c.name, kind, resource, sprintf("%v", [q])] if {
	some c in k8s.main_containers
	some kind in ["requests", "limits"]
	some resource, q in c.resources[kind]
	resource in {"cpu", "memory"}
}

valid_quantity(q) if regex.match(quantity_pattern, q)

violation contains msg if {
	some c in k8s.main_containers
	some kind in ["requests", "limits"]
	some resource in ["cpu", "memory"]
	not c.resources[kind][resource]
	msg := sprintf("%s: container %s must set resources.%s.%s", [k8s.name, c.name, kind, resource])
}

violation contains msg if {
	some [name, kind, resource, q] in quantities
	not valid_quantity(q)
	msg := sprintf("%s: container %s has an invalid quantity %v in resources.%s.%s", [k8s.name, name, q, kind, resource])
}

violation contains msg if {
	some [name, "limits", "cpu", q] in quantities
	valid_quantity(q)
	units.parse(q) > max_cpu_cores
	msg := sprintf("%s: container %s limits cpu to %s, above the maximum %s", [k8s.name, name, q, max_cpu])
}

violation contains msg if {
	some [name, "limits", "memory", q] in quantities
	valid_quantity(q)
	units.parse_bytes(q) > max_memory_bytes
	msg := sprintf("%s: container %s limits memory to %s, above the maximum %s", [k8s.name, name, q, max_memory])
}
