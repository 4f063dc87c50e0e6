package paved.policies.no_host_path_test

import data.paved.policies.no_host_path

review(volumes) := {"request": {"object": {"kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"template": {"spec": {"containers": [], "volumes": volumes}}}}}}

test_other_volumes_allowed if {
	count(no_host_path.violation) == 0 with input as review([{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, {"name": "tmp", "emptyDir": {}}])
}

test_host_path_denied if {
	no_host_path.violation == {"StatefulSet db: volume root must not be a hostPath (/)"} with input as review([{"name": "root", "hostPath": {"path": "/"}}])
}
