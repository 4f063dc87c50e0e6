package paved.policies.ingress_tls_test

import data.paved.policies.ingress_tls

review(spec) := {"request": {"object": {"kind": "Ingress", "metadata": {"name": "web"}, "spec": spec}}}

test_tls_for_every_host_allowed if {
	count(ingress_tls.violation) == 0 with input as review({"tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}], "rules": [{"host": "shop.example.com"}]})
}

test_no_tls_denied if {
	ingress_tls.violation == {"Ingress web: spec.tls is required"} with input as review({"rules": [{"host": "shop.example.com"}]})
}

test_host_without_tls_denied if {
	ingress_tls.violation == {"Ingress web: host api.example.com has no TLS entry"} with input as review({"tls": [{"hosts": ["shop.example.com"]}], "rules": [{"host": "shop.example.com"}, {"host": "api.example.com"}]})
}
