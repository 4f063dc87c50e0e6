package paved.policies.allowed_registries_test

import data.paved.policies.allowed_registries

review(image) := {"request": {"object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": image}]}}}}

test_any_registry_without_configuration if {
	count(allowed_registries.violation) == 0 with input as review("docker.io/library/nginx:1.27")
		with data.params as {}
}

test_configured_registry_allowed if {
	count(allowed_registries.violation) == 0 with input as review("ghcr.io/acme/web:1")
		with data.params.allowed_registries.registries as ["ghcr.io/acme/"]
}

test_other_registry_denied if {
	allowed_registries.violation == {"Pod p: container app uses image docker.io/nginx:1, not from an allowed registry (ghcr.io/acme/)"} with input as review("docker.io/nginx:1")
		with data.params.allowed_registries.registries as ["ghcr.io/acme/"]
}
