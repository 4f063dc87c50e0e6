package paved.policies.service_name_test

import data.paved.policies.service_name

test_dns_label_allowed if {
	count(service_name.violation) == 0 with input as {"service": {"name": "checkout-api"}}
}

test_other_names_denied if {
	count(service_name.violation) == 1 with input as {"service": {"name": "Checkout"}}
	count(service_name.violation) == 1 with input as {"service": {"name": "-checkout"}}
	count(service_name.violation) == 1 with input as {"service": {}}
}

test_pattern_is_a_parameter if {
	count(service_name.violation) == 0 with input as {"service": {"name": "Checkout"}}
		with data.params.service_name.pattern as `^[A-Za-z]+$`
}

test_missing_service_denied if {
	count(service_name.violation) == 1 with input as {"name": "checkout", "timeout_seconds": 60}
	count(service_name.violation) == 1 with input as {"service": {"name": 42}}
}
