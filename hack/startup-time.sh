#!/usr/bin/env bash
# Measures the built binary from exec until /readyz answers 200 (which is
# also when /healthz first answers: serve binds, migrates, then serves), on
# SQLite: "cold" with a new data directory each run, "warm" reusing one.
# Usage: hack/startup-time.sh [runs]   (default 20; builds bin/paved first)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
make -s build
port=$((20000 + RANDOM % 20000))
warm=$(mktemp -d)
trap 'rm -rf "$warm"' EXIT

measure() { # data-dir → milliseconds to ready
	local t0 t1 pid
	t0=$(date +%s%N)
	bin/paved serve --listen "127.0.0.1:$port" --data-dir "$1" --log-level error >/dev/null &
	pid=$!
	until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.001; done
	t1=$(date +%s%N)
	kill "$pid"; wait "$pid" || true
	echo $(((t1 - t0) / 1000000))
}

summary() { sort -n | awk '{a[NR]=$1} END {printf "median %d ms, min %d ms, max %d ms over %d runs\n", a[int((NR+1)/2)], a[1], a[NR], NR}'; }

echo -n "cold (new data dir): "
for _ in $(seq "$runs"); do d=$(mktemp -d); measure "$d"; rm -rf "$d"; done | summary
measure "$warm" >/dev/null
echo -n "warm (existing data dir): "
for _ in $(seq "$runs"); do measure "$warm"; done | summary
