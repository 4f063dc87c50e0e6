package paved.policies.replicas_test

import data.paved.policies.replicas

review(spec) := {"request": {"object": {"kind": "Deployment", "metadata": {"name": "d"}, "spec": spec}}}

test_within_bounds_and_default_allowed if {
	count(replicas.violation) == 0 with input as review({"replicas": 3})
	count(replicas.violation) == 0 with input as review({})
}

test_outside_bounds_denied if {
	replicas.violation == {"Deployment d: 100 replicas is outside 1..50"} with input as review({"replicas": 100})
	count(replicas.violation) == 1 with input as review({"replicas": 0})
		with data.params.replicas as {"min": 1, "max": 50}
}
