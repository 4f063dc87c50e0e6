// Command kube-apiserver builds the upstream Kubernetes API server from the Go
// module proxy so envtest can run without downloading prebuilt binaries.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
