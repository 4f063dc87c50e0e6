package paved.policies.drop_capabilities_test

import data.paved.policies.drop_capabilities

review(sc) := {"request": {"object": {"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:1", "securityContext": sc}]}}}}}}

test_drop_all_allowed if {
	count(drop_capabilities.violation) == 0 with input as review({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}})
}

test_missing_drop_denied if {
	drop_capabilities.violation == {"Job j: container app must drop ALL capabilities (securityContext.capabilities.drop: [ALL])"} with input as review({})
	count(drop_capabilities.violation) == 1 with input as review({"capabilities": {"drop": ["NET_RAW"]}})
}
