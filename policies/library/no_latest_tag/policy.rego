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

# Each distinct image is judged once, then reported with the containers
# that use it. The names are found through OPA's comprehension index (a
# plain assignment whose body compares with the outer variable): built
# once, it keeps a Pod of thousands of distinct images linear.
unpinned contains image if {
	some image in {c.image | some c in k8s.containers}
	not pinned(image)
}

violation contains msg if {
	some image in unpinned
	users := [c.name | some c in k8s.containers; c.image == image]
	names := sort(users)
	msg := sprintf("%s: %s %s image %s; pin a tag other than latest, or a digest", [k8s.name, k8s.subject(names), k8s.verb(names, "uses", "use"), image])
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
