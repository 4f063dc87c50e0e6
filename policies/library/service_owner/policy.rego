# METADATA
# title: Service has an owner
# description: A new service names the team that owns it.
# custom:
#   severity: high
#   enforcement: deny
#   targets: [service]
package paved.policies.service_owner

violation contains msg if {
	not has_owner
	msg := sprintf("service %s: owner is required", [object.get(input.service, "name", "<unnamed>")])
}

has_owner if trim_space(input.service.owner) != ""
