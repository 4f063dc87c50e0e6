// Package policies will hold policy-as-code: the OPA engine (compile,
// prepare, evaluate), policy versions, the decision log, admission input
// normalisation and audit; library/ will hold the default Rego policies with
// their tests. It receives the data it checks as input and never imports
// catalog. Nothing is here yet.
package policies
