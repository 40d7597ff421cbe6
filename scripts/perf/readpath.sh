#!/usr/bin/env bash
# Measures the read path of the real binary side by side: against its ceiling (scripts/perf/limit,
# the same body as pre-encoded bytes) and against itself in another configuration, in one run, so
# every figure is a ratio of two things measured on the same machine at the same time. Servers run
# on core 0 with GOMAXPROCS=1, wrk and curl on core 1, on loopback only. The two sides alternate
# round by round (the first side swaps every round, so drift falls on both) and medians are compared.
# A feature the binary does not have yet (ETag, gzip, the body-cache flag) prints n/a.
#
#   [ROUNDS=5] [SECS=5] [CHANGES=20] [SRC=.] scripts/perf/readpath.sh
#
# SRC is the checkout the real binary is built from, e.g. `git worktree add /tmp/perf-base HEAD`
# while the tree does not build. PostgreSQL is measured too when pg_isready answers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-5} secs=${SECS:-5} changes=${CHANGES:-20} src=${SRC:-.}
for tool in wrk curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (wrk: apt-get install -y wrk)" >&2; exit 1; }
done
work=$(mktemp -d) pgdb=""
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ -n $pgdb ]]; then dropdb -h 127.0.0.1 -U postgres --if-exists "$pgdb" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$src" && go build -o "$work/customer-api" ./cmd/customer-api)
go build -o "$work/limit" ./scripts/perf/limit
bin=$work/customer-api
path=/customer/1.0.0/organization/getCustomers
declare -A pid bearer token

# up PORT: waits (at most 30 s) until the server on PORT answers and has printed its curl line.
up() {
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && grep -q "^  curl\|^limit" "$work/out-$1" && return
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "server on port $1 did not start: $(cat "$work/out-$1")" >&2
  exit 1
}
# serve PORT FLAGS...: the real binary on core 0, as its own token issuer (--dev), without a rate
# limit (the service is measured, not the limiter); keeps the credentials from its curl line.
serve() {
  local port=$1; shift
  GOMAXPROCS=1 taskset -c 0 "$bin" serve --dev --demo --data-dir "$work/data" --addr "127.0.0.1:$port" \
    --rate-limit 0 --client-rate-limit 0 --global-rate-limit 0 --metrics-addr off --log-level error "$@" >"$work/out-$port" 2>&1 &
  pid[$port]=$!
  up "$port"
  bearer[$port]=$(sed -n "s/.*-H 'Authorization: \([^']*\)'.*/\1/p" "$work/out-$port")
  token[$port]=$(sed -n "s/.*-H 'token: \([^']*\)'.*/\1/p" "$work/out-$port")
}
limit() { # limit PORT BODY: the ceiling on core 0
  GOMAXPROCS=1 taskset -c 0 "$work/limit" --addr "127.0.0.1:$1" --body "$2" >"$work/out-$1" 2>&1 &
  pid[$1]=$!
  up "$1"
}
stop() { kill "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null || true; }
# H PORT: the request headers of the server on PORT, in the array H (none for the limit).
H() { H=(); if [[ -n ${bearer[$1]:-} ]]; then H=(-H "Authorization: ${bearer[$1]}" -H "token: ${token[$1]}" -H 'tenantId: tenant-demo'); fi; }
get() { H "$1"; taskset -c 1 curl -s --max-time 120 "${H[@]}" "${@:3}" "http://127.0.0.1:$1$path/$2"; }
# rps PORT ORG [wrk args]: requests per second of one wrk run. Answers >= 400 (a 503 when the
# server sheds load) are counted in $work/errors rather than stopping the run.
rps() {
  H "$1"
  local out; out=$(taskset -c 1 wrk -t1 -c8 -d"${secs}s" "${H[@]}" "${@:3}" "http://127.0.0.1:$1$path/$2")
  awk '/Non-2xx/ {print $NF}' <<<"$out" >>"$work/errors"
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "${5:-}"; }
# compare LABEL UNIT A B: ROUNDS alternating wrk rounds of the rps arguments in arrays A and B.
# UNIT rps reports medianA/medianB; UNIT time reports the ratio of times, medianB/medianA.
compare() {
  local label=$1 unit=$2 i v; local -n sa=$3 sb=$4; local ra=() rb=()
  for ((i = 1; i <= rounds; i++)); do
    if ((i % 2)); then v=$(rps "${sa[@]}"); ra+=("$v"); v=$(rps "${sb[@]}"); rb+=("$v")
    else v=$(rps "${sb[@]}"); rb+=("$v"); v=$(rps "${sa[@]}"); ra+=("$v"); fi
  done
  local ma mb errs; ma=$(median "${ra[@]}") mb=$(median "${rb[@]}")
  if [[ $unit == rps ]]; then v=$(ratio "$ma" "$mb"); else v="$(ratio "$mb" "$ma") (time)"; fi
  errs=$(awk '{n += $1} END {print n + 0}' "$work/errors"); : >"$work/errors"
  row "$label" "$ma req/s" "$mb req/s" "$v" "A: ${ra[*]}; B: ${rb[*]}$( ((errs)) && echo "; $errs answers >= 400")"
}
# timed PORT ORG: the seconds of one curl of ORG; any status but 200 fails.
timed() { get "$1" "$2" -o /dev/null -w '%{http_code} %{time_total}\n' | awk '$1 != 200 {exit 1} {print $2}'; }
ms() { awk -v s="$1" 'BEGIN {printf "%.1f ms", s * 1000}'; }

# Data: the demo organizations, then organizations made of their customers (secrets left out) under
# fresh ids: 100 and 1 000 to read, 1 000 to change one customer of, 10 000 never read before.
serve 18101
get 18101 org-retail >"$work/retail.json"
get 18101 org-wholesale >"$work/wholesale.json"
python3 - "$work" "$changes" <<'PY'
import json, sys
work, changes = sys.argv[1], int(sys.argv[2])
pool = json.load(open(f"{work}/retail.json")) + json.load(open(f"{work}/wholesale.json"))
def org(prefix, n):
    out = []
    for i in range(n):
        c = json.loads(json.dumps(pool[i % len(pool)]))
        c["customer"]["id"] = f"{prefix}-{i:06d}"
        out.append(c)
    return out
for name, prefix, n in [("100", "cus-h", 100), ("1000", "cus-k", 1000), ("change", "cus-chg", 1000), ("cold", "cus-cold", 10000)]:
    json.dump(org(prefix, n), open(f"{work}/org-{name}.json", "w"))
one = org("cus-chg", 501)[500:]  # the customer in the middle of org-change
for i in range(changes):
    one[0]["customer"]["customerName"] = f"Changed {i}"
    json.dump(one, open(f"{work}/change-{i}.json", "w"))
PY
load() { # load ORG DATABASE-FLAGS... FILE: customer-api import into the demo tenant
  timeout 600 taskset -c 1 "$bin" import --log-level error --tenant tenant-demo --organization "$@" >/dev/null; }
load org-load-100 --data-dir "$work/data" "$work/org-100.json"
load org-load-1000 --data-dir "$work/data" "$work/org-1000.json"
load org-change-1000 --data-dir "$work/data" "$work/org-change.json"

# Other work on the machine shares the pinned cores; the load average says how much there was.
echo "ROUNDS=$rounds SECS=$secs CHANGES=$changes, built from $(cd "$src" && git describe --always --dirty);" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
trap 'echo; echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; cleanup' EXIT
echo
row measure A B 'A / B' 'rounds (req/s)'
row --- --- --- --- ---
: >"$work/errors"
get 18101 org-load-100 >"$work/body-100.json"
limit 18100 "$work/body-100.json"
a=(18101 org-load-100) b=(18100 x)
compare '100 customers, hot: enforce / limit' rps a b
serve 18102 --response-validation off
b=(18102 org-load-100)
compare '100 customers: enforce / off' rps a b

# gzip: the bytes on the wire of the real binary and, for reference, of the limit (default level).
gz() { get "$1" "$2" --compressed -D "$work/h" -o /dev/null -w '%{size_download}'; }
id=$(get 18101 org-load-100 -o /dev/null -w '%{size_download}')
z=$(gz 18101 org-load-100)
if grep -qi '^content-encoding: *gzip' "$work/h"; then
  row 'gzip, 100 customers: bytes on the wire / identity' "$z B" "$id B" "$(ratio "$z" "$id")"
  a=(18101 org-load-100 -H 'Accept-Encoding: gzip') b=(18100 x -H 'Accept-Encoding: gzip')
  compare '100 customers, gzip: enforce / limit' rps a b
else
  row 'gzip, 100 customers: bytes on the wire / identity' "n/a (no gzip)" "$id B" n/a
fi
z=$(gz 18100 x)
row '(limit) gzip, 100 customers: bytes on the wire / identity' "$z B" "$id B" "$(ratio "$z" "$id")"
stop 18102
stop 18100

# If-None-Match: the ETag of a 200 sent back; a 304 should cost a fraction of a 200.
etag=$(get 18101 org-load-1000 -D - -o /dev/null | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p')
label='If-None-Match on an unchanged 1 000-customer organization: 304 / 200'
if [[ -n $etag ]] && [[ $(get 18101 org-load-1000 -H "If-None-Match: $etag" -o /dev/null -w '%{http_code}') == 304 ]]; then
  a=(18101 org-load-1000 -H "If-None-Match: $etag") b=(18101 org-load-1000)
  compare "$label" time a b
else
  row "$label" "n/a (no ETag or no 304)" - n/a
fi

# One customer of 1 000 changed before every read, against reads of documents all validated
# before, by a server without the body cache. Imports are not timed; the sides alternate.
note=""
if { "$bin" serve --help 2>&1 || true; } | grep -q -- -body-cache; then serve 18103 --body-cache 0
else serve 18103; note=" (flag missing: this build has no body cache)"; fi
timed 18101 org-change-1000 >/dev/null && timed 18103 org-load-1000 >/dev/null # warm up
ta=() tb=()
for ((i = 0; i < changes; i++)); do
  load org-change-1000 --data-dir "$work/data" "$work/change-$i.json"
  ta+=("$(timed 18101 org-change-1000)") tb+=("$(timed 18103 org-load-1000)")
done
ma=$(median "${ta[@]}") mb=$(median "${tb[@]}")
row '1 000 customers: read after 1 changed / all validated, body cache off' "$(ms "$ma")" "$(ms "$mb")" \
  "$(ratio "$ma" "$mb")$note" "medians of $changes reads each"
stop 18103

# The first read of 10 000 customers no server has read, after a fresh start, against the second:
# each round imports a fresh organization, so nothing about it is remembered anywhere.
cold() { # cold LABEL DATABASE-FLAGS...
  local label=$1 r t1=() t2=(); shift
  for ((r = 1; r <= rounds; r++)); do
    sed "s/cus-cold-/cus-cold$r-/g" "$work/org-cold.json" >"$work/cold.json"
    # The server starts first (on an empty database it loads the demo and prints the curl whose
    # credentials the script uses), then the organization is imported: it never saw them.
    serve 18104 "$@"
    load "org-cold-$r" "$@" "$work/cold.json"
    t1+=("$(timed 18104 "org-cold-$r")") t2+=("$(timed 18104 "org-cold-$r")")
    stop 18104
  done
  local m1 m2; m1=$(median "${t1[@]}") m2=$(median "${t2[@]}")
  row "first read of 10 000 never-seen customers, $label: first / second" "$(ms "$m1")" "$(ms "$m2")" \
    "$(ratio "$m1" "$m2")" "first: ${t1[*]} s; second: ${t2[*]} s"
}
cold SQLite --data-dir "$work/data"
if pg_isready -q -h 127.0.0.1 -p 5432; then
  pgdb=perf_readpath_$$
  createdb -h 127.0.0.1 -U postgres "$pgdb"
  cold PostgreSQL --data-dir "$work/data" --database "postgres://postgres@127.0.0.1:5432/$pgdb"
else
  row 'first read of 10 000 never-seen customers, PostgreSQL: first / second' 'n/a (no PostgreSQL on 127.0.0.1:5432)' - n/a
fi
