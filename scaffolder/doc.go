// Package scaffolder is the golden-path machinery. Today it defines what a
// template step runs: the Action interface (and Undoer, for steps that can
// be rolled back) and the Registry the task runner will look actions up
// in. Each family of actions is a package of its own under
// scaffolder/actions (kube: namespaces and pipelines); scaffolder/provision
// creates Kubernetes namespaces and pipelines with server-side apply and
// keeps them from drifting. Templates, rendering and durable tasks are the
// scaffolder issue's.
package scaffolder
