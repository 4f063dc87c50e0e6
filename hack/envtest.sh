#!/usr/bin/env bash
# Builds kube-apiserver and etcd from source through the Go module proxy into a
# cache outside the repository, for controller-runtime's envtest. Nothing is
# downloaded prebuilt: this machine cannot reach release buckets.
#
# Usage: hack/envtest.sh            build if missing, print the assets folder
#        hack/envtest.sh --print    print the assets folder only
set -euo pipefail

KUBE_VERSION=v1.35.4
ETCD_VERSION=v3.6.6
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${PAVED_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/envtest}
dir="$cache/$KUBE_VERSION-etcd-$ETCD_VERSION"

if [[ "${1:-}" == "--print" ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
if [[ ! -x "$dir/kube-apiserver" ]]; then
	echo "envtest: building kube-apiserver $KUBE_VERSION (about 4 minutes on 2 cores)" >&2
	(cd "$root/hack/envtest/kube-apiserver" && CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=35" \
		-o "$dir/kube-apiserver.tmp" . && mv "$dir/kube-apiserver.tmp" "$dir/kube-apiserver")
fi
if [[ ! -x "$dir/etcd" ]]; then
	echo "envtest: building etcd $ETCD_VERSION (under a minute)" >&2
	(cd "$root/hack/envtest/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
		-o "$dir/etcd.tmp" . && mv "$dir/etcd.tmp" "$dir/etcd")
fi
echo "$dir"
