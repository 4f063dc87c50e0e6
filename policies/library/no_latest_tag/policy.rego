# METADATA
# title: No latest or untagged images
# description: >-
#   Every container image is pinned to a tag other than latest, or to a
#   digest, so that what runs is what was reviewed and rollbacks are real.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [admission]
package paved.policies.no_latest_tag

import data.paved.lib.k8s

violation contains msg if {
	some c in k8s.containers
	not pinned(c.image)
	msg := sprintf("%s: container %s uses image %s; pin a tag other than latest, or a digest", [k8s.name, c.name, c.image])
}

pinned(image) if contains(image, "@sha256:")

pinned(image) if {
	not contains(image, "@")
	tag := tag_of(image)
	tag != "latest"
}

# The tag is after a colon in the last path segment; a colon earlier is a
# registry port (registry:5000/app is untagged).
tag_of(image) := tag if {
	segments := split(image, "/")
	last := segments[count(segments) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}
