#!/usr/bin/env bash
# Collects the real upstream CustomResourceDefinitions of the projects the
# golden-path templates use, from pinned releases of their Go modules
# through the module proxy (nothing else is reachable from CI), into a
# cache outside the repository, with each project's licence and a
# SOURCES file saying where every file came from.
#
# Usage: hack/crds.sh            collect if missing, print the folder
#        hack/crds.sh --print    print the folder only
set -euo pipefail

SET=v1
cache=${PAVED_CRDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/crds}
dir="$cache/$SET"

# project  module@version  files (globs inside the module)
sources=(
	"argocd github.com/argoproj/argo-cd/v3@v3.5.7 manifests/crds/application-crd.yaml manifests/crds/applicationset-crd.yaml manifests/crds/appproject-crd.yaml"
	"flux-source github.com/fluxcd/source-controller@v1.9.0 config/crd/bases/*.yaml"
	"flux-kustomize github.com/fluxcd/kustomize-controller@v1.9.5 config/crd/bases/*.yaml"
	"tekton github.com/tektoncd/pipeline@v1.6.0 config/300-crds/*.yaml"
	"istio istio.io/api@v1.32.0 kubernetes/customresourcedefinitions.gen.yaml"
	"prometheus-operator github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/*.yaml"
	"smi github.com/servicemeshinterface/smi-sdk-go@v0.5.0 crds/*.yaml"
)

if [[ "${1:-}" == "--print" ]]; then
	echo "$dir"
	exit 0
fi
if [[ -f "$dir/SOURCES" ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for entry in "${sources[@]}"; do
	read -r project modver globs <<<"$entry"
	echo "crds: $project from $modver" >&2
	src=$(go mod download -json "$modver" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	if [[ -z "$src" ]]; then
		echo "crds: go mod download $modver gave no directory" >&2
		exit 1
	fi
	mkdir -p "$tmp/$project"
	for g in $globs; do
		for f in "$src"/$g; do
			[[ -f "$f" ]] || { echo "crds: $modver has no $g" >&2; exit 1; }
			cp "$f" "$tmp/$project/"
			echo "$project/$(basename "$f") $modver $g" >>"$tmp/SOURCES"
		done
	done
	cp "$src/LICENSE" "$tmp/$project/LICENSE"
	chmod -R u+w "$tmp/$project"
done
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
