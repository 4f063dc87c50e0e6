package paved.policies.run_as_non_root_test

import data.paved.policies.run_as_non_root

review(pod_sc, sc) := {"request": {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"securityContext": pod_sc, "containers": [{"name": "app", "image": "a:1", "securityContext": sc}]}}}}

test_pod_level_allowed if {
	count(run_as_non_root.violation) == 0 with input as review({"runAsNonRoot": true}, {})
}

test_container_level_allowed if {
	count(run_as_non_root.violation) == 0 with input as review({}, {"runAsNonRoot": true})
}

test_unset_denied if {
	run_as_non_root.violation == {"Pod p: container app must run as non-root (securityContext.runAsNonRoot: true)"} with input as review({}, {})
}

test_container_overrides_denied if {
	count(run_as_non_root.violation) == 1 with input as review({"runAsNonRoot": true}, {"runAsNonRoot": false})
	count(run_as_non_root.violation) == 1 with input as review({"runAsNonRoot": true}, {"runAsUser": 0})
}
