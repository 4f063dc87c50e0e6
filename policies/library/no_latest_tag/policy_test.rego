package paved.policies.no_latest_tag_test

import data.paved.policies.no_latest_tag

review(image) := {"request": {"object": {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}}}

test_pinned_tag_allowed if {
	count(no_latest_tag.violation) == 0 with input as review("ghcr.io/acme/web:1.4.2")
}

test_digest_allowed if {
	count(no_latest_tag.violation) == 0 with input as review("ghcr.io/acme/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

test_latest_denied if {
	no_latest_tag.violation == {"Deployment web: container app uses image nginx:latest; pin a tag other than latest, or a digest"} with input as review("nginx:latest")
}

test_untagged_denied if {
	count(no_latest_tag.violation) == 1 with input as review("nginx")
}

test_registry_port_is_not_a_tag if {
	count(no_latest_tag.violation) == 1 with input as review("registry.local:5000/web")
	count(no_latest_tag.violation) == 0 with input as review("registry.local:5000/web:2")
}
