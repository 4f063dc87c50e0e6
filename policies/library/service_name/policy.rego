# METADATA
# title: Service name pattern
# description: >-
#   A service name is a DNS label (lowercase letters, digits and dashes,
#   starting with a letter, at most 63 characters) so it can name
#   namespaces, repositories and hosts.
# custom:
#   severity: medium
#   enforcement: deny
#   targets: [service]
package paved.policies.service_name

# Parameters: data.params.service_name.pattern, a regular expression.
pattern := object.get(data.params, ["service_name", "pattern"], `^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

# A missing service, or a name that is not a string, is judged as the
# empty name, which no pattern should match: denied.
name := n if {
	n := object.get(input, ["service", "name"], "")
	is_string(n)
} else := ""

violation contains msg if {
	not regex.match(pattern, name)
	msg := sprintf("service name %q does not match %s", [name, pattern])
}
