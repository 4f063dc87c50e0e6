# METADATA
# title: Allowed image registries
# description: >-
#   Container images come from one of the configured registries. With no
#   registries configured (the default) every registry is allowed.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [admission]
package paved.policies.allowed_registries

import data.paved.lib.k8s

# Parameters: data.params.allowed_registries.registries, a list of image
# prefixes such as "ghcr.io/acme/".
registries := object.get(data.params, ["allowed_registries", "registries"], [])

violation contains msg if {
	count(registries) > 0
	some c in k8s.containers
	not allowed(c.image)
	msg := sprintf("%s: container %s uses image %s, not from an allowed registry (%s)", [k8s.name, c.name, c.image, concat(", ", registries)])
}

allowed(image) if {
	some prefix in registries
	startswith(image, prefix)
}
