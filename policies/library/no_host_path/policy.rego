# METADATA
# title: No hostPath volumes
# description: Pods do not mount directories of the node.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [admission]
package paved.policies.no_host_path

import data.paved.lib.k8s

violation contains msg if {
	some v in k8s.pod_spec(k8s.reviewed).volumes
	v.hostPath
	msg := sprintf("%s: volume %s must not be a hostPath (%s)", [k8s.name, v.name, v.hostPath.path])
}
