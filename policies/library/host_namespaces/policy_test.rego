package paved.policies.host_namespaces_test

import data.paved.policies.host_namespaces

review(spec) := {"request": {"object": {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}}}}

test_plain_pod_allowed if {
	count(host_namespaces.violation) == 0 with input as review({"containers": [{"name": "app", "image": "a:1", "ports": [{"containerPort": 8080}]}]})
}

test_host_namespaces_denied if {
	host_namespaces.violation == {"Deployment d: hostNetwork must not be true", "Deployment d: hostPID must not be true"} with input as review({"hostNetwork": true, "hostPID": true, "containers": []})
}

test_host_port_denied if {
	host_namespaces.violation == {"Deployment d: container app must not bind hostPort 80"} with input as review({"containers": [{"name": "app", "image": "a:1", "ports": [{"containerPort": 80, "hostPort": 80}]}]})
}
