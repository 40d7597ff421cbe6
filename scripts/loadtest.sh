#!/usr/bin/env bash
# Measures the throughput of the real binary over HTTP with wrk, for an organization of 100 (and
# 1 000) customers with every field filled, with response validation enforce, enforce without the
# cache, and off. The server runs on core 0 (GOMAXPROCS=1), wrk on core 1, on loopback only.
#
#   scripts/loadtest.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/customer-api" ./cmd/customer-api
bin="$work/customer-api"
port=18099
url="http://127.0.0.1:$port/customer/1.0.0/organization/getCustomers"

# start MODE CACHE: the server as its own token issuer (--dev), with the demo tenant's credentials
# taken from the curl line it prints; no rate limit, so the measurement is of the service.
start() {
  GOMAXPROCS=1 taskset -c 0 "$bin" serve --dev --demo --data-dir "$work/data" --addr "127.0.0.1:$port" \
    --rate-limit 0 --client-rate-limit 0 --global-rate-limit 0 --metrics-addr off --response-validation "$1" --validation-cache-entries "$2" --log-level error >"$work/out" 2>&1 &
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  bearer=$(sed -n "s/.*-H 'Authorization: \([^']*\)'.*/\1/p" "$work/out")
  token=$(sed -n "s/.*-H 'token: \([^']*\)'.*/\1/p" "$work/out")
  [[ -n $bearer && -n $token ]] || { echo "server did not start: $(cat "$work/out")" >&2; exit 1; }
  headers=(-H "Authorization: $bearer" -H "token: $token" -H 'tenantId: tenant-demo')
}
stop() { kill "$(jobs -p)" 2>/dev/null || true; wait 2>/dev/null || true; }

# Demo data, then organizations of 100 and 1 000 customers made from it (secrets left out).
start off 0
curl -sf "${headers[@]}" "$url/org-retail" > "$work/retail.json"
curl -sf "${headers[@]}" "$url/org-wholesale" > "$work/wholesale.json"
stop
for n in 100 1000; do
  python3 - "$work" "$n" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
pool = json.load(open(f"{work}/retail.json")) + json.load(open(f"{work}/wholesale.json"))
out = []
for i in range(n):
    c = json.loads(json.dumps(pool[i % len(pool)]))
    c["customer"]["id"] = f"cus-load-{i:06d}"
    out.append(c)
json.dump(out, open(f"{work}/org-{n}.json", "w"))
PY
  "$bin" import --data-dir "$work/data" --tenant tenant-demo --organization "org-load-$n" "$work/org-$n.json"
done

printf '%-10s %-16s %12s %12s\n' customers validation 'req/s' 'p99 latency'
for n in 100 1000; do
  for mode in "enforce 4096" "enforce 0" "off 0"; do
    set -- $mode
    start "$1" "$2"
    curl -sf "${headers[@]}" "$url/org-load-$n" >/dev/null # warm up
    label=$1; [[ $1 == enforce && $2 == 0 ]] && label=enforce-nocache
    out=$(taskset -c 1 wrk -t1 -c8 -d"${secs}s" --latency "${headers[@]}" "$url/org-load-$n")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    [[ -n $non2xx ]] && { echo "non-2xx answers: $non2xx" >&2; exit 1; }
    printf '%-10s %-16s %12s %12s\n' "$n" "$label" "$rps" "$p99"
    stop
  done
done
