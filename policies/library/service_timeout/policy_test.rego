package paved.policies.service_timeout_test

import data.paved.policies.service_timeout

test_within_bounds_allowed if {
	count(service_timeout.violation) == 0 with input as {"service": {"name": "checkout", "timeoutSeconds": 10}}
}

test_outside_bounds_denied if {
	service_timeout.violation == {"service checkout: timeoutSeconds 45 is outside 1..30"} with input as {"service": {"name": "checkout", "timeoutSeconds": 45}}
	count(service_timeout.violation) == 1 with input as {"service": {"name": "checkout", "timeoutSeconds": 0}}
}

test_missing_timeout_denied if {
	service_timeout.violation == {"service checkout: timeoutSeconds is required (a number of seconds)"} with input as {"service": {"name": "checkout"}}
}

test_bounds_are_parameters if {
	count(service_timeout.violation) == 0 with input as {"service": {"name": "checkout", "timeoutSeconds": 45}}
		with data.params.service_timeout.max_seconds as 60
}

test_missing_service_denied if {
	service_timeout.violation == {"service <unnamed>: timeoutSeconds is required (a number of seconds)"} with input as {"name": "checkout", "timeout_seconds": 60}
	count(service_timeout.violation) == 1 with input as {"service": {"name": "checkout", "timeoutSeconds": "10"}}
}
