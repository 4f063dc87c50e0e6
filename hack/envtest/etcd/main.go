// Command etcd builds the upstream etcd server from the Go module proxy so
// envtest can run without downloading prebuilt binaries.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
