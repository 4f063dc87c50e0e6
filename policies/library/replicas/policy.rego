# METADATA
# title: Replicas within bounds
# description: Deployments, StatefulSets and ReplicaSets ask for between 1 and 50 replicas by default.
# custom:
#   severity: low
#   enforcement: deny
#   targets: [admission]
package paved.policies.replicas

import data.paved.lib.k8s

# Parameters: data.params.replicas.min and max.
min_replicas := object.get(data.params, ["replicas", "min"], 1)

max_replicas := object.get(data.params, ["replicas", "max"], 50)

violation contains msg if {
	k8s.reviewed.kind in {"Deployment", "StatefulSet", "ReplicaSet"}
	n := object.get(k8s.reviewed, ["spec", "replicas"], 1) # the API server's default
	not between(n)
	msg := sprintf("%s: %v replicas is outside %v..%v", [k8s.name, n, min_replicas, max_replicas])
}

between(n) if {
	n >= min_replicas
	n <= max_replicas
}
