package paved.policies.no_privileged_test

import data.paved.policies.no_privileged

review(sc) := {"request": {"object": {"kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {"template": {"spec": {"initContainers": [{"name": "setup", "image": "a:1", "securityContext": sc}]}}}}}}

test_unprivileged_allowed if {
	count(no_privileged.violation) == 0 with input as review({"privileged": false})
	count(no_privileged.violation) == 0 with input as review({})
}

test_privileged_init_container_denied if {
	no_privileged.violation == {"DaemonSet agent: container setup must not be privileged"} with input as review({"privileged": true})
}
