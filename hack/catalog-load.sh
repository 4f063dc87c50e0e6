#!/usr/bin/env bash
# Load-tests the catalog API of a running Paved over HTTP with hey and
# prints one Markdown table row per request: p50, p99, requests/s.
#
# Usage: hack/catalog-load.sh BASE_URL [REQUESTS] [CONCURRENCY]
#   BASE_URL     e.g. http://127.0.0.1:7007, serving a catalog made by
#                paved dev gen-catalog --entities 100000 --seed 1
#   REQUESTS     per request kind (default 2000)
#   CONCURRENCY  concurrent clients (default 4)
#
# hey comes through the Go module proxy:
#   GOBIN=/tmp/bin go install github.com/rakyll/hey@v0.1.4
set -euo pipefail
base=${1:?usage: hack/catalog-load.sh BASE_URL [REQUESTS] [CONCURRENCY]}
n=${2:-2000}
c=${3:-4}
hey=${HEY:-$(command -v hey || echo /tmp/bin/hey)}
api=$base/api/catalog

requests=(
	"by-query kind+owner, limit 50|$api/entities/by-query?filter=kind=component,spec.owner=group-7&limit=50"
	"by-name|$api/entities/by-name/component/default/pricing-27950"
	"entity-facets spec.type|$api/entity-facets?facet=spec.type"
	"full text (name, title)|$api/entities/by-query?fullTextFilterTerm=ledger-1&limit=20"
	"full text (metadata.name)|$api/entities/by-query?fullTextFilterTerm=ledger-1&fullTextFilterFields=metadata.name&limit=20"
)

echo "| request | p50 | p99 | req/s |"
echo "|---|---|---|---|"
for r in "${requests[@]}"; do
	label=${r%%|*}
	url=${r#*|}
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
	if [[ $code != 200 ]]; then
		echo "$label: $url answered $code" >&2
		exit 1
	fi
	"$hey" -n 100 -c "$c" "$url" >/dev/null # warm the caches first
	out=$("$hey" -n "$n" -c "$c" "$url")
	ms() { awk -v p="$1%" '$1 == p && $2 == "in" { printf "%.1f ms", $3 * 1000 }' <<<"$out"; }
	rps=$(awk '/Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	echo "| $label | $(ms 50) | $(ms 99) | $rps |"
done
