# METADATA
# title: Service has an owner
# description: A new service names the team that owns it.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [service]
package paved.policies.service_owner

# svc is the service, {} when the input has none: every rule here then
# denies, so a malformed request fails closed.
svc := object.get(input, "service", {})

violation contains msg if {
	not has_owner
	msg := sprintf("service %s: owner is required", [name])
}

has_owner if {
	is_string(svc.owner)
	trim_space(svc.owner) != ""
}

name := n if {
	n := svc.name
	is_string(n)
} else := "<unnamed>"
