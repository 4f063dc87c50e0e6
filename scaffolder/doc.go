// Package scaffolder will hold the golden-path machinery: the template
// format and rendering, actions, and durable tasks on the job queue;
// scaffolder/provision will create Kubernetes namespaces and pipelines with
// server-side apply and keep them from drifting. Nothing is here yet.
package scaffolder
