#!/usr/bin/env bash
# Measures a running paved's memory through the real workflow: a location
# of N synthetic entities registered through the API, read by the refresh
# job. Prints ingest time, peak RSS (VmHWM) and RSS after IDLE seconds.
# Usage: hack/catalog-memory.sh [N] [IDLE] [-- extra env for paved, e.g. GOMEMLIMIT=256MiB]
# PAVED_DATABASE_URL selects PostgreSQL (a fresh database is best).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}; idle=${2:-20}; shift $(( $# > 1 ? 2 : $# )) || true
[ "${1:-}" = "--" ] && shift
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
make -s build
bin/paved dev gen-catalog --entities "$n" --out "$work/cat" >/dev/null
printf 'catalog:\n  reading:\n    allow: [{dir: %s}]\n' "$work/cat" > "$work/paved.yaml"
port=$(( 20000 + RANDOM % 20000 ))
env "$@" bin/paved serve --data-dir "$work/data" --config "$work/paved.yaml" --listen "127.0.0.1:$port" --log-format json > "$work/serve.log" 2>&1 &
pid=$!
until curl -sf "localhost:$port/healthz" >/dev/null; do sleep 0.1; done
start=$(date +%s.%N)
curl -sf -XPOST "localhost:$port/api/catalog/locations" -H 'Content-Type: application/json' \
	-d "{\"type\":\"file\",\"target\":\"$work/cat/catalog-info.yaml\"}" >/dev/null
until grep -q '"msg":"location refreshed"' "$work/serve.log"; do sleep 0.2; done
end=$(date +%s.%N)
sleep "$idle"
peak=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status")
printf '%d entities: ingest %.1f s, peak RSS %d MB, RSS after %d s idle %d MB\n' "$n" "$(echo "$end - $start" | bc)" "$peak" "$idle" "$rss"
