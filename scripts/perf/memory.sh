#!/usr/bin/env bash
# Shows how much memory the real binary needs to read a large organization: (a) what one full read
# of 50 000 customers adds to the resident set, (b) the peak of 50 concurrent reads of 20 000
# customers and the statuses they got (a server that bounds its memory answers some with 503).
# The server may use every core (memory, not one core's speed, is measured: on one core a read of
# 50 000 customers can outlast the server's 60 s write timeout); loopback only.
# A watchdog kills the server when its resident set passes MEM_CAP_MB, so a build without bounds
# cannot take the machine down; the table then says so.
#
#   [BIG=50000] [MANY=20000] [CLIENTS=50] [MEM_CAP_MB=4096] [SRC=.] scripts/perf/memory.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
big=${BIG:-50000} many=${MANY:-20000} clients=${CLIENTS:-50} cap_mb=${MEM_CAP_MB:-4096} src=${SRC:-.}
for tool in curl python3; do command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$src" && go build -o "$work/customer-api" ./cmd/customer-api)
bin=$work/customer-api
port=18201
url="http://127.0.0.1:$port/customer/1.0.0/organization/getCustomers"

# start: a fresh server, up within 30 s, with the demo tenant's credentials in the array H; then
# its peak is reset (clear_refs 5), so VmHWM covers what happens from here on, not start-up.
start() {
  "$bin" serve --dev --demo --data-dir "$work/data" --addr "127.0.0.1:$port" \
    --rate-limit 0 --client-rate-limit 0 --global-rate-limit 0 --metrics-addr off --log-level error >"$work/out" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && grep -q '^  curl' "$work/out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^  curl' "$work/out" || { echo "server did not start: $(cat "$work/out")" >&2; exit 1; }
  H=(-H "Authorization: $(sed -n "s/.*-H 'Authorization: \([^']*\)'.*/\1/p" "$work/out")"
     -H "token: $(sed -n "s/.*-H 'token: \([^']*\)'.*/\1/p" "$work/out")" -H 'tenantId: tenant-demo')
  sleep 1 # let start-up garbage settle before the baseline
  echo 5 >"/proc/$pid/clear_refs"
  watchdog &
  dog=$!
}
stop() { kill "$dog" "$pid" 2>/dev/null || true; { wait "$dog" "$pid" || true; } 2>/dev/null; }
# mb FIELD: a field of /proc/PID/status (VmRSS, VmHWM) in MB, or "-" once the server is gone.
mb() {
  local v; v=$(awk -v f="$1:" '$1 == f {printf "%.0f", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || true)
  echo "${v:--}"
}
# watchdog: polls the resident set every 50 ms (at most 20 minutes) and kills the server above the cap.
watchdog() {
  for _ in $(seq 24000); do
    local rss; rss=$(mb VmRSS)
    [[ $rss == - ]] && return
    if ((rss > cap_mb)); then
      echo "$rss" >"$work/capped"
      kill -9 "$pid"
      return
    fi
    sleep 0.05
  done
}
cell() { if [[ $1 == - ]]; then echo -; else echo "$1 MB"; fi; }
capped() { if [[ -s $work/capped ]]; then echo " (killed at $(cat "$work/capped") MB, above MEM_CAP_MB=$cap_mb)"; rm -f "$work/capped"; fi; }

# Data: organizations of BIG and MANY customers made of the demo customers (secrets left out).
start
curl -sf "${H[@]}" "$url/org-retail" >"$work/retail.json"
curl -sf "${H[@]}" "$url/org-wholesale" >"$work/wholesale.json"
stop
python3 - "$work" "$big" "$many" <<'PY'
import json, sys
work, sizes = sys.argv[1], [int(n) for n in sys.argv[2:]]
pool = json.load(open(f"{work}/retail.json")) + json.load(open(f"{work}/wholesale.json"))
for n in sizes:
    with open(f"{work}/org-{n}.json", "w") as f:  # one record at a time: the file is large
        f.write("[")
        for i in range(n):
            c = pool[i % len(pool)]
            c["customer"]["id"] = f"cus-m{n}-{i:06d}"
            f.write(("," if i else "") + json.dumps(c))
        f.write("]")
PY
for n in "$big" "$many"; do
  timeout 1200 "$bin" import --log-level error --data-dir "$work/data" --tenant tenant-demo \
    --organization "org-$n" "$work/org-$n.json" >/dev/null
done

echo "built from $(cd "$src" && git describe --always --dirty 2>/dev/null || echo "$src"); $(nproc) cores, MEM_CAP_MB=$cap_mb;" \
  "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| measure | RSS before | peak RSS (VmHWM) | RSS after | growth (peak - before) | answers |"
echo "| --- | --- | --- | --- | --- | --- |"

# (a) One full read of BIG customers, body discarded by the client.
start
before=$(mb VmRSS)
answer=$(curl -s --max-time 600 "${H[@]}" -o /dev/null -w '%{http_code}, %{size_download} B in %{time_total} s' "$url/org-$big" || true)
peak=$(mb VmHWM) after=$(mb VmRSS)
growth=$([[ $peak == - ]] && echo - || echo $((peak - before)))
echo "| one read of $big customers | $(cell "$before") | $(cell "$peak") | $(cell "$after") | $(cell "$growth")$(capped) | $answer |"
stop

# (b) CLIENTS concurrent reads of MANY customers, each bounded by timeout 300 (000: no answer).
start
before=$(mb VmRSS)
curls=()
for i in $(seq "$clients"); do
  timeout 300 curl -s "${H[@]}" -o /dev/null -w '%{http_code}\n' "$url/org-$many" >"$work/code-$i" &
  curls+=($!)
done
{ wait "${curls[@]}" || true; } 2>/dev/null # quiet: the shell may report the watchdog's kill here
peak=$(mb VmHWM) after=$(mb VmRSS)
growth=$([[ $peak == - ]] && echo - || echo $((peak - before)))
codes=$(for i in $(seq "$clients"); do c=$(cat "$work/code-$i"); echo "${c:-000}"; done |
  sort | uniq -c | awk '{printf "%s%s x %s", (NR > 1 ? ", " : ""), $2, $1}')
echo "| $clients concurrent reads of $many customers | $(cell "$before") | $(cell "$peak") | $(cell "$after") | $(cell "$growth")$(capped) | $codes |"
stop
