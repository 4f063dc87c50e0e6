package paved.policies.service_types_test

import data.paved.policies.service_types

review(spec) := {"request": {"object": {"kind": "Service", "metadata": {"name": "web"}, "spec": spec}}}

test_cluster_ip_allowed if {
	count(service_types.violation) == 0 with input as review({"type": "ClusterIP"})
	count(service_types.violation) == 0 with input as review({})
}

test_node_port_and_load_balancer_denied if {
	service_types.violation == {"Service web: type NodePort is not allowed; use ClusterIP behind the ingress"} with input as review({"type": "NodePort"})
	count(service_types.violation) == 1 with input as review({"type": "LoadBalancer"})
}
