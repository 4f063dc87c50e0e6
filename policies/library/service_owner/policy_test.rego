package paved.policies.service_owner_test

import data.paved.policies.service_owner

test_owner_allowed if {
	count(service_owner.violation) == 0 with input as {"service": {"name": "checkout", "owner": "group:payments"}}
}

test_missing_or_blank_owner_denied if {
	service_owner.violation == {"service checkout: owner is required"} with input as {"service": {"name": "checkout"}}
	count(service_owner.violation) == 1 with input as {"service": {"name": "checkout", "owner": " "}}
}

test_missing_service_denied if {
	service_owner.violation == {"service <unnamed>: owner is required"} with input as {"name": "checkout", "timeout_seconds": 60}
	count(service_owner.violation) == 1 with input as {"service": "checkout"}
	count(service_owner.violation) == 1 with input as {"service": {"name": "checkout", "owner": 7}}
}
