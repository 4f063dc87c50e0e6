# METADATA
# title: Required labels
# description: >-
#   Workloads, Services and Ingresses carry the labels that say what they
#   are and which team owns them.
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [admission]
package paved.policies.required_labels

import data.paved.lib.k8s

# Parameters: data.params.required_labels.labels.
labels := object.get(data.params, ["required_labels", "labels"], ["app.kubernetes.io/name", "team"])

violation contains msg if {
	some label in labels
	not k8s.reviewed.metadata.labels[label]
	msg := sprintf("%s: label %s is required", [k8s.name, label])
}
