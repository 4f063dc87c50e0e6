# Helpers shared by the admission policies: where a workload keeps its pod
# spec, and every container in it. Input is an AdmissionReview request
# under input.request (manifests checked in CI are wrapped the same way).
package paved.lib.k8s

# The object under review.
reviewed := input.request.object

# The kinds whose pod spec is extracted; anything else has no containers.
workload_kinds := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.template.spec if obj.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

# Every container of the reviewed workload, init and ephemeral ones
# included, as an array: a set would hash every container object, which
# cost as much as a policy's whole check of a Pod of thousands.
containers := [c |
	spec := pod_spec(reviewed)
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in spec[field]
]

# The main containers only (probes and resources concern these).
default main_containers := []

main_containers := cs if {
	cs := pod_spec(reviewed).containers
	is_array(cs)
}

# The name a message uses for the reviewed object.
name := sprintf("%s %s", [reviewed.kind, object.get(reviewed, ["metadata", "name"], "<unnamed>")])

# subject(names) names the containers a message is about: "container app",
# "containers a, b and c", or the first five and how many more. Policies
# report one message per finding, not per container, so that an object of
# thousands of containers is judged in one pass and its message stays
# short.
subject(names) := sprintf("container %s", [names[0]]) if count(names) == 1

subject(names) := sprintf("containers %s and %s", [concat(", ", array.slice(names, 0, count(names) - 1)), names[count(names) - 1]]) if {
	count(names) > 1
	count(names) <= 5
}

subject(names) := sprintf("containers %s and %d more", [concat(", ", array.slice(names, 0, 5)), count(names) - 5]) if count(names) > 5

# verb(names, one, many) agrees a verb with subject(names).
verb(names, one, _) := one if count(names) == 1

verb(names, _, many) := many if count(names) > 1
