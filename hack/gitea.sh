#!/usr/bin/env bash
# Builds Gitea, the real git host the scaffolder's publish tests push to,
# from source through the Go module proxy into a cache outside the
# repository (the way envtest and OPA are built). Its go.mod has replace
# directives, so `go install` is refused: the module is downloaded, copied
# and built in place; the copy stays beside the binary because `gitea web`
# needs the source's options/ folder (STATIC_ROOT_PATH).
#
# Usage: hack/gitea.sh            build if missing, print the binary's path
#        hack/gitea.sh --print    print the binary's path only
set -euo pipefail

GITEA_VERSION=v1.27.3
cache=${PAVED_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paved/tools}
dir="$cache/gitea-$GITEA_VERSION"

if [[ "${1:-}" == "--print" ]]; then
	echo "$dir/gitea"
	exit 0
fi
if [[ ! -x "$dir/gitea" ]]; then
	echo "gitea: building $GITEA_VERSION from source (about 5 minutes on 2 cores)" >&2
	src=$(cd "$(mktemp -d)" && go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d "$src" ]] || { echo "gitea: go mod download gave no source folder" >&2; exit 1; }
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	cp -r "$src" "$dir.tmp/src" && chmod -R u+w "$dir.tmp/src"
	(cd "$dir.tmp/src" && CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.Version=${GITEA_VERSION#v}" -tags 'sqlite sqlite_unlock_notify' -o ../gitea .)
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir/gitea"
