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

# Every container of the reviewed workload, init and ephemeral ones included.
containers contains c if {
	spec := pod_spec(reviewed)
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in spec[field]
}

# The main containers only (probes and resources concern these).
main_containers contains c if {
	some c in pod_spec(reviewed).containers
}

# The name a message uses for the reviewed object.
name := sprintf("%s %s", [reviewed.kind, object.get(reviewed, ["metadata", "name"], "<unnamed>")])
