package paved.policies.resources_test

import data.paved.policies.resources

review(res) := {"request": {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "a:1", "resources": res}]}}}}

ok := {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}

test_requests_and_limits_allowed if {
	count(resources.violation) == 0 with input as review(ok)
	count(resources.violation) == 0 with input as review({"requests": {"cpu": 1, "memory": "1Gi"}, "limits": {"cpu": 2, "memory": "2Gi"}})
}

test_each_missing_value_named if {
	resources.violation == {"Pod p: container app must set resources.limits.cpu", "Pod p: container app must set resources.limits.memory"} with input as review({"requests": ok.requests})
	count(resources.violation) == 4 with input as review({})
}

test_limits_above_maxima_denied if {
	resources.violation == {"Pod p: container app limits cpu to 8, above the maximum 4"} with input as review({"requests": ok.requests, "limits": {"cpu": "8", "memory": "256Mi"}})
	resources.violation == {"Pod p: container app limits memory to 16Gi, above the maximum 8Gi"} with input as review({"requests": ok.requests, "limits": {"cpu": "1", "memory": "16Gi"}})
}

test_maxima_are_parameters if {
	count(resources.violation) == 0 with input as review({"requests": ok.requests, "limits": {"cpu": "8", "memory": "16Gi"}})
		with data.params.resources as {"max_cpu": "16", "max_memory": "32Gi"}
}

test_invalid_quantity_is_a_violation_not_an_error if {
	resources.violation == {"Pod p: container app has an invalid quantity lots in resources.limits.cpu"} with input as review({"requests": ok.requests, "limits": {"cpu": "lots", "memory": "256Mi"}})
}
