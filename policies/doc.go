// Package policies is Paved's policy-as-code engine: Rego policies compiled
// with OPA's Go API, evaluated in memory for the two targets (admission
// reviews and service requests), and tested with OPA's tester.
//
// A policy is a Rego v1 module in package paved.policies.<name> that
// defines a set rule violation of message strings, and describes itself in
// a package-scoped METADATA block:
//
//	# METADATA
//	# title: No latest tag
//	# description: Images are pinned to a tag other than latest.
//	# custom:
//	#   severity: high        # low | medium | high | critical
//	#   enforcement: deny     # deny | warn | dryrun
//	#   targets: [admission]  # admission and/or service
//	package paved.policies.no_latest_tag
//
// Its parameters are data under data.params.<name>, which the platform
// team edits without touching Rego. Files ending in _test.rego hold tests.
// The package never imports catalog: it receives what it checks as input.
package policies
