package paved.policies.required_labels_test

import data.paved.policies.required_labels

review(labels) := {"request": {"object": {"kind": "Service", "metadata": {"name": "web", "labels": labels}, "spec": {}}}}

test_both_labels_allowed if {
	count(required_labels.violation) == 0 with input as review({"app.kubernetes.io/name": "web", "team": "payments"})
}

test_each_missing_label_named if {
	required_labels.violation == {"Service web: label team is required"} with input as review({"app.kubernetes.io/name": "web"})
	count(required_labels.violation) == 2 with input as review({})
}

test_labels_are_parameters if {
	required_labels.violation == {"Service web: label cost-center is required"} with input as review({})
		with data.params.required_labels.labels as ["cost-center"]
}
