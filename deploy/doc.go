// Package deploy will hold how to run Paved itself: a Dockerfile,
// Kubernetes manifests (kustomize), the admission webhook configuration and
// RBAC. It holds no Go code; this file only marks the folder. Nothing is
// here yet.
package deploy
