package paved.policies.probes_test

import data.paved.policies.probes

review(c) := {"request": {"object": {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "a:1"}], "containers": [object.union({"name": "app", "image": "a:1"}, c)]}}}}}}

test_both_probes_allowed if {
	count(probes.violation) == 0 with input as review({"readinessProbe": {"tcpSocket": {"port": 80}}, "livenessProbe": {"tcpSocket": {"port": 80}}})
}

test_missing_probe_denied_init_containers_exempt if {
	probes.violation == {"Deployment d: container app must declare a livenessProbe"} with input as review({"readinessProbe": {"tcpSocket": {"port": 80}}})
}
