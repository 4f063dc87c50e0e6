# METADATA
# title: Service request timeout
# description: >-
#   A new service declares a request timeout between the configured bounds
#   (1 to 30 seconds by default), so callers never wait forever.
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [service]
package paved.policies.service_timeout

# Parameters: data.params.service_timeout.min_seconds and max_seconds.
min_seconds := object.get(data.params, ["service_timeout", "min_seconds"], 1)

max_seconds := object.get(data.params, ["service_timeout", "max_seconds"], 30)

# svc is the service, {} when the input has none: the timeout is then
# missing, and denied.
svc := object.get(input, "service", {})

name := n if {
	n := svc.name
	is_string(n)
} else := "<unnamed>"

violation contains msg if {
	not has_timeout
	msg := sprintf("service %s: timeoutSeconds is required (a number of seconds)", [name])
}

violation contains msg if {
	t := svc.timeoutSeconds
	is_number(t)
	not between(t)
	msg := sprintf("service %s: timeoutSeconds %v is outside %v..%v", [name, t, min_seconds, max_seconds])
}

has_timeout if is_number(svc.timeoutSeconds)

between(t) if {
	t >= min_seconds
	t <= max_seconds
}
