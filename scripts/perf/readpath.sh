#!/usr/bin/env bash
# Measures the read path of the real binary side by side with other servers, in one run, and prints
# every figure as a table row with the rounds it is the median of:
#
#  - server CPU per request (utime + stime of the server process from /proc/PID/stat over a run,
#    divided by the requests it answered), each server alone on core 0 with GOMAXPROCS=1 and the
#    load generator (scripts/perf/load: raw HTTP/1.1, 8 keep-alive connections, identity
#    encoding) on core 1; loopback only; rate limits off. The sides alternate round by round.
#    Compared with: scripts/perf/limit (the same body as bytes encoded once: the ceiling),
#    scripts/perf/ogen (a server ogen v1.24.0 generates from openapi.yaml, response validation on,
#    the same customers in memory) and the binary itself in other configurations;
#  - the first read of 30 000 customers after a restart against the next read, the server on
#    every core (GOMAXPROCS=2 on this machine) and on one;
#  - with PostgreSQL too, when pg_isready answers on 127.0.0.1:5432 (its server is not pinned;
#    the rows say how much CPU its processes took per request, beside the service's).
#
#   [ROUNDS=5] [SECS=5] [COLD=30000] [CHANGES=20] [SRC=.] [PARTS="ogen nomemo hot change cold"] scripts/perf/readpath.sh
#
# SRC is the checkout the real binary is built from (e.g. an older commit, unpacked with
# `git archive REV | tar -x -C DIR`), so two builds are measured by the same script. Rows a build
# cannot answer (a flag it lacks) print n/a.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rounds=${ROUNDS:-5} secs=${SECS:-5} cold_n=${COLD:-30000} changes=${CHANGES:-20} src=${SRC:-.}
parts=" ${PARTS:-ogen nomemo hot change cold} "
want() { [[ $parts == *" $1 "* ]]; }
for tool in curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }
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
go build -o "$work/load" ./scripts/perf/load
(cd scripts/perf/ogen && go tool ogen --config ogen.yml --target api --package api --clean "$root/openapi.yaml" 2>/dev/null &&
  go build -o "$work/ogen" .)
bin=$work/customer-api
tick=$(getconf CLK_TCK)
path=/customer/1.0.0/organization/getCustomers
declare -A pid bearer token dbof
has_flag() { { "$bin" serve --help 2>&1 || true; } | grep -q -- "-$1"; }

# up PORT: waits (at most 60 s) until the server on PORT answers and has printed its first line.
up() {
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$1/healthz" && grep -q "^  curl\|^limit\|^ogen" "$work/out-$1" && return
    kill -0 "${pid[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "server on port $1 did not start: $(cat "$work/out-$1")" >&2
  exit 1
}
# serve PORT CORES FLAGS...: the real binary as its own token issuer (--dev), without rate limits,
# on CORES (0: core 0 with GOMAXPROCS=1; all: every core); keeps the credentials of its curl line.
# Each start replaces the demo tenant's API token in its database, so the servers of one database
# share the newest one.
serve() {
  local port=$1 cores=$2; shift 2
  local run=(taskset -c 0 env GOMAXPROCS=1)
  [[ $cores == all ]] && run=(env)
  "${run[@]}" "$bin" serve --dev --demo --data-dir "$work/data" --addr "127.0.0.1:$port" \
    --rate-limit 0 --client-rate-limit 0 --global-rate-limit 0 --metrics-addr off --log-level error "$@" >"$work/out-$port" 2>&1 &
  pid[$port]=$!
  up "$port"
  bearer[$port]=$(sed -n "s/.*-H 'Authorization: \([^']*\)'.*/\1/p" "$work/out-$port")
  dbof[$port]=sqlite
  [[ " $* " == *" --database "* ]] && dbof[$port]=postgres
  token[${dbof[$port]}]=$(sed -n "s/.*-H 'token: \([^']*\)'.*/\1/p" "$work/out-$port")
}
limit() { # limit PORT BODY: the ceiling on core 0
  GOMAXPROCS=1 taskset -c 0 "$work/limit" --addr "127.0.0.1:$1" --body "$2" >"$work/out-$1" 2>&1 &
  pid[$1]=$!
  up "$1"
}
ogen() { # ogen PORT ORG=FILE...: the ogen server on core 0
  local port=$1; shift
  GOMAXPROCS=1 taskset -c 0 "$work/ogen" --addr "127.0.0.1:$port" "${@/#/--org=}" >"$work/out-$port" 2>&1 &
  pid[$port]=$!
  up "$port"
}
stop() { kill "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null || true; }
# H PORT: the request headers for the server on PORT, in the array H: the real binary's
# credentials; for the others, headers of the same shape.
H() {
  local db=${dbof[$1]:-}
  H=(-H "Authorization: ${bearer[$1]:-Bearer x}" -H "token: ${token[${db:-none}]:-x}" -H 'tenantId: tenant-demo')
}
get() { H "$1"; taskset -c 1 curl -s --max-time 300 "${H[@]}" "${@:3}" "http://127.0.0.1:$1$path/$2"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of PID, in clock ticks
pgcpu() { # the CPU ticks of every postgres process
  local t=0 p
  for p in $(pgrep -x postgres 2>/dev/null || true); do t=$((t + $(cpu "$p" 2>/dev/null || echo 0))); done
  echo "$t"
}
# run PORT ORG [headers...]: one load run; prints "req/s server-µs/request db-µs/request".
run() {
  local port=$1 org=$2; shift 2; H "$port"
  local c0 d0 out c1 d1
  c0=$(cpu "${pid[$port]}") d0=$(pgcpu)
  out=$(taskset -c 1 "$work/load" --conns 8 --duration "${secs}s" --url "http://127.0.0.1:$port$path/$org" "${H[@]}" "$@")
  c1=$(cpu "${pid[$port]}") d1=$(pgcpu)
  awk -v o="$out" -v c=$((c1 - c0)) -v d=$((d1 - d0)) -v tick="$tick" -v errs="$work/errors" 'BEGIN {
    split(o, f, /[ =]/); n = f[2]; other = f[6]; s = f[10]
    if (other > 0) print other >> errs
    printf "%.1f %.1f %.1f\n", n / s, c * 1e6 / tick / n, d * 1e6 / tick / n }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
spread() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
# compare LABEL A B: ROUNDS alternating runs of the run arguments in arrays A and B; the ratio is
# B's server CPU per request over A's (above 1: A costs less).
compare() {
  local label=$1 i v; local -n sa=$2 sb=$3; local ca=() cb=() ra=() rb=() da=()
  for ((i = 1; i <= rounds; i++)); do
    local first=sa second=sb
    ((i % 2)) || { first=sb; second=sa; }
    for side in $first $second; do
      local -n s=$side
      read -r rps us db <<<"$(run "${s[@]}")"
      if [[ $side == sa ]]; then ca+=("$us"); ra+=("$rps"); da+=("$db"); else cb+=("$us"); rb+=("$rps"); fi
      unset -n s
    done
  done
  local ma mb errs note=""
  ma=$(median "${ca[@]}") mb=$(median "${cb[@]}")
  errs=$(awk '{n += $1} END {print n + 0}' "$work/errors"); : >"$work/errors"
  ((errs)) && note="; $errs answers neither 2xx nor 304"
  [[ ${DB_NOTE:-} ]] && note="$note; PostgreSQL's processes: $(median "${da[@]}") µs/request"
  row "$label" "$ma µs ($(median "${ra[@]}") req/s)" "$mb µs ($(median "${rb[@]}") req/s)" "$(ratio "$mb" "$ma")" \
    "A: $(spread "${ca[@]}") µs, B: $(spread "${cb[@]}") µs$note"
}
ms() { awk -v s="$1" 'BEGIN {printf "%.1f ms", s * 1000}'; }
timed() { get "$1" "$2" -o /dev/null -w '%{http_code} %{time_total}\n' | awk '$1 != 200 {exit 1} {print $2}'; }

# Data: the demo organizations, then organizations made of their customers (secrets left out) under
# fresh ids: 100 and 1 000 to read, 1 000 to change one customer of, COLD never read before.
serve 18101 0
get 18101 org-retail >"$work/retail.json"
get 18101 org-wholesale >"$work/wholesale.json"
stop 18101
python3 - "$work" "$changes" "$cold_n" <<'PY'
import json, sys
work, changes, cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pool = json.load(open(f"{work}/retail.json")) + json.load(open(f"{work}/wholesale.json"))
def org(prefix, n):
    out = []
    for i in range(n):
        c = json.loads(json.dumps(pool[i % len(pool)]))
        c["customer"]["id"] = f"{prefix}-{i:06d}"
        out.append(c)
    return out
for name, prefix, n in [("100", "cus-h", 100), ("1000", "cus-k", 1000), ("change", "cus-chg", 1000), ("cold", "cus-cold", cold)]:
    json.dump(org(prefix, n), open(f"{work}/org-{name}.json", "w"))
one = org("cus-chg", 501)[500:]  # the customer in the middle of org-change
for i in range(changes):
    one[0]["customer"]["customerName"] = f"Changed {i}"
    json.dump(one, open(f"{work}/change-{i}.json", "w"))
PY
load() { # load ORG DATABASE-FLAGS... FILE: customer-api import into the demo tenant
  timeout 900 "$bin" import --log-level error --tenant tenant-demo --organization "$@" >/dev/null; }
for n in 100 1000; do load "org-load-$n" --data-dir "$work/data" "$work/org-$n.json"; done
load org-change-1000 --data-dir "$work/data" "$work/org-change.json"
pg=""
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pgdb=perf_readpath_$$ pg="postgres://postgres@127.0.0.1:5432/$pgdb"
  createdb -h 127.0.0.1 -U postgres "$pgdb"
  serve 18105 0 --data-dir "$work/data" --database "$pg" # loads the demo tenant, whose credentials serve prints
  stop 18105
  for n in 100 1000; do load "org-load-$n" --data-dir "$work/data" --database "$pg" "$work/org-$n.json"; done
fi

echo "ROUNDS=$rounds SECS=$secs COLD=$cold_n CHANGES=$changes; built from $(cd "$src" && git describe --always --dirty 2>/dev/null || echo "$src");" \
  "$(nproc) cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
trap 'echo; echo "load average at end: $(cut -d" " -f1-3 /proc/loadavg)"; cleanup' EXIT
echo
row measure 'A: server CPU per request' 'B: server CPU per request' 'B / A' 'rounds (min-max)'
row --- --- --- --- ---
: >"$work/errors"

# The list of documents remembered as validated, without the body cache, against ogen.
nocache=(); has_flag body-cache && nocache=(--body-cache 0)
serve 18102 0 "${nocache[@]}"
for n in 100 1000; do get 18102 "org-load-$n" >"$work/body-$n.json"; done
[[ -n $pg ]] && serve 18105 0 "${nocache[@]}" --database "$pg"
if want ogen; then
  ogen 18110 "org-load-100=$work/body-100.json" "org-load-1000=$work/body-1000.json"
  for n in 100 1000; do
    a=(18102 "org-load-$n") b=(18110 "org-load-$n")
    compare "$n customers, SQLite, validated before, body cache off / ogen validated" a b
  done
  if [[ -n $pg ]]; then
    for n in 100 1000; do
      a=(18105 "org-load-$n") b=(18110 "org-load-$n")
      DB_NOTE=1 compare "$n customers, PostgreSQL, validated before, body cache off / ogen validated" a b
    done
  fi
  stop 18110
fi

# Nothing remembered: every document validated on every read.
if want nomemo && has_flag validation-cache-entries; then
  serve 18103 0 "${nocache[@]}" --validation-cache-entries 0
  a=(18103 org-load-1000) b=(18102 org-load-1000)
  compare "1 000 customers, SQLite: nothing remembered / validated before (µs per customer: A / 1 000)" a b
  stop 18103
  if [[ -n $pg ]]; then
    serve 18106 0 "${nocache[@]}" --validation-cache-entries 0 --database "$pg"
    a=(18106 org-load-1000) b=(18105 org-load-1000)
    DB_NOTE=1 compare "1 000 customers, PostgreSQL: nothing remembered / validated before (µs per customer: A / 1 000)" a b
    stop 18106
  fi
fi
[[ -n $pg ]] && stop 18105

# Hot reads: the body cache (the default configuration) against the ceiling and against itself
# with response validation off.
serve 18101 0
if want hot; then
limit 18100 "$work/body-100.json"
a=(18101 org-load-100) b=(18100 x)
compare '100 customers, hot (body cache): enforce / limit' a b
serve 18104 0 --response-validation off
b=(18104 org-load-100)
compare '100 customers, hot: enforce / validation off' a b
stop 18104
gz() { get "$1" "$2" --compressed -D "$work/h" -o /dev/null -w '%{size_download}'; }
id=$(get 18101 org-load-100 -o /dev/null -w '%{size_download}')
z=$(gz 18101 org-load-100) zl=$(gz 18100 x)
row 'gzip, 100 customers: bytes on the wire / identity' "$z B" "$id B" "$(ratio "$z" "$id")" "the limit's own gzip: $zl B ($(ratio "$zl" "$id"))"
a=(18101 org-load-100 -H 'Accept-Encoding: gzip') b=(18100 x -H 'Accept-Encoding: gzip')
compare '100 customers, hot, gzip: enforce / limit' a b
stop 18100
etag=$(get 18101 org-load-1000 -D - -o /dev/null | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: *//p')
a=(18101 org-load-1000 -H "If-None-Match: $etag") b=(18101 org-load-1000)
compare 'If-None-Match on an unchanged 1 000-customer organization: 304 / 200' a b
fi

# One customer of 1 000 changed before every read, against reads of documents all validated
# before, without the body cache (curl's time; the imports are not timed).
if want change; then
timed 18101 org-change-1000 >/dev/null && timed 18102 org-load-1000 >/dev/null
ta=() tb=()
for ((i = 0; i < changes; i++)); do
  load org-change-1000 --data-dir "$work/data" "$work/change-$i.json"
  ta+=("$(timed 18101 org-change-1000)") tb+=("$(timed 18102 org-load-1000)")
done
row '1 000 customers, time of a read: after 1 changed / all validated, body cache off' "$(ms "$(median "${ta[@]}")")" \
  "$(ms "$(median "${tb[@]}")")" "$(ratio "$(median "${ta[@]}")" "$(median "${tb[@]}")")" "medians of $changes reads each"
fi
stop 18101
stop 18102

# The first read of COLD customers no server has read, after a fresh start, against the next:
# each round imports a fresh organization, so nothing about it is remembered anywhere.
cold() { # cold LABEL CORES DATABASE-FLAGS...
  local label=$1 cores=$2 r t1=() t2=(); shift 2
  for ((r = 1; r <= rounds; r++)); do
    sed "s/cus-cold-/cus-cold$r$cores-/g" "$work/org-cold.json" >"$work/cold.json"
    serve 18107 "$cores" "$@"
    load "org-cold-$r-$cores" "$@" "$work/cold.json"
    t1+=("$(timed 18107 "org-cold-$r-$cores")") t2+=("$(timed 18107 "org-cold-$r-$cores")")
    stop 18107
  done
  local m1 m2; m1=$(median "${t1[@]}") m2=$(median "${t2[@]}")
  row "first read of $cold_n never-seen customers / the next read, $label" "$(ms "$m1")" "$(ms "$m2")" \
    "$(ratio "$m1" "$m2")" "first: ${t1[*]} s; next: ${t2[*]} s"
}
want cold || exit 0
cold "SQLite, every core ($(nproc))" all --data-dir "$work/data"
cold "SQLite, one core" 0 --data-dir "$work/data"
if [[ -n $pg ]]; then
  cold "PostgreSQL, every core ($(nproc))" all --data-dir "$work/data" --database "$pg"
  cold "PostgreSQL, one core" 0 --data-dir "$work/data" --database "$pg"
fi
