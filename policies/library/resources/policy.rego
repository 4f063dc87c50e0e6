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
	some kind in ["requests", "limits"]
	some resource in ["cpu", "memory"]
	names := sort([c.name | some c in k8s.main_containers; not c.resources[kind][resource]])
	count(names) > 0
	msg := sprintf("%s: %s must set resources.%s.%s", [k8s.name, k8s.subject(names), kind, resource])
}

# Each distinct quantity is judged once, then reported with the containers
# that use it, found through OPA's comprehension index (see
# no_latest_tag), so a Pod of thousands of distinct quantities stays linear.
distinct_quantities contains [kind, resource, q] if some [_, kind, resource, q] in quantities

invalid contains [kind, resource, q] if {
	some [kind, resource, q] in distinct_quantities
	not valid_quantity(q)
}

above_maximum contains ["limits", "cpu", q] if {
	some ["limits", "cpu", q] in distinct_quantities
	valid_quantity(q)
	units.parse(q) > max_cpu_cores
}

above_maximum contains ["limits", "memory", q] if {
	some ["limits", "memory", q] in distinct_quantities
	valid_quantity(q)
	units.parse_bytes(q) > max_memory_bytes
}

maximum := {"cpu": max_cpu, "memory": max_memory}

violation contains msg if {
	some [kind, resource, q] in invalid
	users := [name | some [name, k, r, v] in quantities; [k, r, v] == [kind, resource, q]]
	names := sort(users)
	msg := sprintf("%s: %s %s an invalid quantity %v in resources.%s.%s", [k8s.name, k8s.subject(names), k8s.verb(names, "has", "have"), q, kind, resource])
}

violation contains msg if {
	some [kind, resource, q] in above_maximum
	users := [name | some [name, k, r, v] in quantities; [k, r, v] == [kind, resource, q]]
	names := sort(users)
	msg := sprintf("%s: %s %s %s to %s, above the maximum %s", [k8s.name, k8s.subject(names), k8s.verb(names, "limits", "limit"), resource, q, maximum[resource]])
}
