package paved.lib.k8s_test

import data.paved.lib.k8s

pod := {"containers": [{"name": "app", "image": "a:1"}], "initContainers": [{"name": "init", "image": "b:1"}]}

test_pod_spec_of_every_workload_kind if {
	k8s.pod_spec({"kind": "Pod", "spec": pod}) == pod
	every kind in ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"] {
		k8s.pod_spec({"kind": kind, "spec": {"template": {"spec": pod}}}) == pod
	}
	k8s.pod_spec({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}) == pod
}

test_containers_include_init_containers if {
	names := {c.name | some c in k8s.containers} with input as {"request": {"object": {"kind": "Pod", "spec": pod}}}
	names == {"app", "init"}
}

test_other_kinds_have_no_containers if {
	count(k8s.containers) == 0 with input as {"request": {"object": {"kind": "Service", "spec": {}}}}
}

test_subject_names_one_a_few_or_the_first_five if {
	k8s.subject(["app"]) == "container app"
	k8s.subject(["a", "b", "c"]) == "containers a, b and c"
	k8s.subject(["a", "b", "c", "d", "e", "f", "g"]) == "containers a, b, c, d, e and 2 more"
	k8s.verb(["a"], "uses", "use") == "uses"
	k8s.verb(["a", "b"], "uses", "use") == "use"
}
