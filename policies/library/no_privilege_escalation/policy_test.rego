package paved.policies.no_privilege_escalation_test

import data.paved.policies.no_privilege_escalation

review(sc) := {"request": {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "a:1", "securityContext": sc}]}}}}

test_false_allowed if {
	count(no_privilege_escalation.violation) == 0 with input as review({"allowPrivilegeEscalation": false})
}

test_unset_or_true_denied if {
	no_privilege_escalation.violation == {"Pod p: container app must set securityContext.allowPrivilegeEscalation: false"} with input as review({})
	count(no_privilege_escalation.violation) == 1 with input as review({"allowPrivilegeEscalation": true})
}
