#!/usr/bin/env bash
# Builds the real OPA server from source through the Go module proxy into a
# cache outside the repository. Tests load `paved policy export` bundles
# into it, and the admission benchmark compares Paved with it.
#
# Usage: hack/opa.sh            build if missing, print the binary's path
#        hack/opa.sh --print    print the binary's path only
set -euo pipefail

OPA_VERSION=v1.22.2 # the version Paved's go.mod embeds
cache=${PAVED_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/tools}
dir="$cache/opa-$OPA_VERSION"

if [[ "${1:-}" == "--print" ]]; then
	echo "$dir/opa"
	exit 0
fi
if [[ ! -x "$dir/opa" ]]; then
	echo "opa: building $OPA_VERSION from source (about a minute on 2 cores)" >&2
	mkdir -p "$dir"
	(cd "$(mktemp -d)" && CGO_ENABLED=0 GOBIN="$dir" go install -trimpath -ldflags "-s -w" \
		"github.com/open-policy-agent/opa@$OPA_VERSION")
fi
echo "$dir/opa"
