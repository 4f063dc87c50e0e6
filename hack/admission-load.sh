#!/usr/bin/env bash
# Compares Paved's admission webhook with the real OPA server on the same
# machine: same policies (the default library), same ~4.8 KB Deployment
# review (portal/testdata/review-deployment.json), same TLS certificate,
# same load tool (hey). Prints p50/p99 at a fixed rate and the maximum
# throughput of each, as Markdown rows.
#
# Usage: hack/admission-load.sh [RATE] [SECONDS]
#   RATE     requests/s of the fixed-rate run (default 1000)
#   SECONDS  length of each run (default 30)
#
# Needs vegeta (GOBIN=/tmp/bin go install github.com/tsenart/vegeta/v12@v12.12.0),
# openssl, and OPA (hack/opa.sh builds it).
set -euo pipefail
rate=${1:-1000}
secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
vegeta=${VEGETA:-$(command -v vegeta || echo /tmp/bin/vegeta)}
opa=$("$root/hack/opa.sh")
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

(cd "$root" && go build -trimpath -o "$work/paved" ./cmd/paved)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# OPA gets the library as a bundle plus one rule that evaluates exactly the
# policies Paved evaluates for admission, in one query.
mkdir "$work/policies"
cp -r "$root/policies/library/." "$work/policies/"
{
	echo "package paved.decision"
	echo
	echo "violations := {"
	for f in "$root"/policies/library/*/policy.rego; do
		if grep -q 'targets:.*admission' "$f"; then
			name=$(basename "$(dirname "$f")")
			echo "	\"$name\": data.paved.policies.$name.violation,"
		fi
	done
	echo "}"
} >"$work/policies/decision.rego"
"$work/paved" policy export --dir "$work/policies" --output "$work/bundle.tar.gz" >/dev/null
python3 -c 'import json,sys; print(json.dumps({"input": json.load(open(sys.argv[1]))}, separators=(",", ":")))' \
	"$root/portal/testdata/review-deployment.json" >"$work/opa-input.json"

for port in 18080 18443 18181; do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
		echo "port $port is in use: stop whatever listens there first" >&2
		exit 1
	fi
done
"$work/paved" serve --data-dir "$work/data" --listen 127.0.0.1:18080 --log-level warn --log-format json \
	--webhook-listen 127.0.0.1:18443 --webhook-cert-file "$work/cert.pem" --webhook-key-file "$work/key.pem" \
	>"$work/paved.out" 2>"$work/paved.log" &
"$opa" run --server --addr 127.0.0.1:18181 --log-level error \
	--tls-cert-file "$work/cert.pem" --tls-private-key-file "$work/key.pem" \
	--bundle "$work/bundle.tar.gz" >"$work/opa.log" 2>&1 &

paved_url=https://127.0.0.1:18443/admission/validate
opa_url=https://127.0.0.1:18181/v1/data/paved/decision/violations
for url in $paved_url $opa_url; do
	for _ in $(seq 100); do
		curl -skf -o /dev/null -X POST -d @"$root/portal/testdata/review-deployment.json" "$url" && break
		sleep 0.1
	done
done
curl -sk -X POST -d @"$root/portal/testdata/review-deployment.json" "$paved_url" | grep -q '"allowed":true'
curl -sk -X POST -d @"$work/opa-input.json" "$opa_url" | grep -q '"no_latest_tag":\[\]'

load() { # name url body
	local target="POST $2
Content-Type: application/json
@$3"
	attack() { "$vegeta" attack -insecure -duration="$1" -rate="$2" -max-workers=16 <<<"$target"; }
	attack 5s "$rate" >/dev/null # warm up
	local fixed max before after
	before=$(server_hist)
	fixed=$(attack "${secs}s" "$rate" | "$vegeta" report -type=json)
	after=$(server_hist)
	max=$(attack "${secs}s" 0 | "$vegeta" report -type=json)
	python3 - "$1" "$fixed" "$max" <<'PY'
import json, sys
name, fixed, top = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
ms = lambda ns: "%.2f" % (ns / 1e6)
lat = fixed["latencies"]
print("| %s | %.0f | %s | %s | %s | %s | %.0f | %s |" % (name, fixed["throughput"], ms(lat["50th"]), ms(lat["90th"]), ms(lat["99th"]),
      ms(lat["max"]), top["throughput"], ", ".join("%s: %d" % kv for kv in sorted({**fixed["status_codes"]}.items()))))
PY
	if [[ $2 == "$paved_url" ]]; then
		read -r b2 bn <<<"$before"
		read -r a2 an <<<"$after"
		server_side="Paved's own histogram over the ${rate}/s run: $((a2 - b2)) of $((an - bn)) reviews answered within 2 ms"
	fi
}

# server_hist prints Paved's count of reviews answered within 2 ms, and all.
server_hist() {
	curl -s http://127.0.0.1:18080/metrics | awk '
		/^paved_admission_review_duration_seconds_bucket\{le="0.002"\}/ { le2 = $2 }
		/^paved_admission_review_duration_seconds_count/ { n = $2 }
		END { printf "%d %d\n", le2, n }'
}
server_side=""
echo "| server | req/s at ${rate}/s | p50 ms | p90 ms | p99 ms | max ms | max req/s (16 workers) | status codes |"
echo "|---|---|---|---|---|---|---|---|"
load "Paved $(git -C "$root" describe --always --dirty)" "$paved_url" "$root/portal/testdata/review-deployment.json"
load "OPA $("$opa" version | awk '/^Version/ { print $2 }')" "$opa_url" "$work/opa-input.json"
echo
echo "$server_side"
echo "paved decision log: $(curl -s http://127.0.0.1:18080/metrics | awk '/^paved_policy_decisions_(logged|dropped)_total/ { sub(/^paved_policy_decisions_/, "", $1); printf "%s=%s ", $1, $2 }')"
