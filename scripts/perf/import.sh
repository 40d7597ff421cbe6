#!/usr/bin/env bash
# Times `customer-api import` of a generated file of COUNT customers (every field filled but the
# write-only ones; the generator of cmd/customer-api's perf_test.go) into a new SQLite database and,
# when pg_isready answers on 127.0.0.1:5432, a new PostgreSQL database, ROUNDS times each,
# alternating; prints the median wall time, the spread and the largest resident set. The importer
# may use every core; PostgreSQL's server shares them.
#
#   [ROUNDS=3] [COUNT=100000] [SRC=.] scripts/perf/import.sh
#
# SRC is the checkout the binary is built from, so two builds are timed by the same script.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-3} count=${COUNT:-100000} src=${SRC:-.}
work=$(mktemp -d) pgdb=""
cleanup() {
  if [[ -n $pgdb ]]; then dropdb -h 127.0.0.1 -U postgres --if-exists "$pgdb" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$src" && go build -o "$work/customer-api" ./cmd/customer-api)
CUSTOMER_API_GEN_FILE="$work/customers.json" CUSTOMER_API_GEN_COUNT=$count go test -count=1 -run TestWriteCustomersFile ./cmd/customer-api >/dev/null
size=$(du -m "$work/customers.json" | cut -f1)
pg=""
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then pgdb=perf_import_$$ pg="postgres://postgres@127.0.0.1:5432/$pgdb"; fi
echo "COUNT=$count ($size MB) ROUNDS=$rounds; built from $(cd "$src" && git describe --always --dirty 2>/dev/null || echo "$src"); $(nproc) cores;" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| database | median wall time | rounds | median CPU of the import process (user + sys) | max RSS |"
echo "| --- | --- | --- | --- | --- |"
# once DATABASE: a fresh, migrated database, then one timed import; prints "seconds KB cpu-seconds".
once() {
  "$work/customer-api" migrate --database "$1" >/dev/null 2>&1
  /usr/bin/time -f '%e %M %U %S' -o "$work/time" "$work/customer-api" import --log-level error --database "$1" \
    --tenant t1 --organization o1 "$work/customers.json" >/dev/null
  awk '{print $1, $2, $3 + $4}' "$work/time"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
declare -A times rss cpus
for ((r = 1; r <= rounds; r++)); do
  rm -rf "$work/db" && mkdir "$work/db"
  read -r s kb c <<<"$(once "$work/db/customers.db")"
  times[sqlite]+="$s " cpus[sqlite]+="$c " rss[sqlite]=$(( ${rss[sqlite]:-0} > kb ? ${rss[sqlite]:-0} : kb ))
  if [[ -n $pg ]]; then
    dropdb -h 127.0.0.1 -U postgres --if-exists "$pgdb" 2>/dev/null && createdb -h 127.0.0.1 -U postgres "$pgdb"
    read -r s kb c <<<"$(once "$pg")"
    times[postgres]+="$s " cpus[postgres]+="$c " rss[postgres]=$(( ${rss[postgres]:-0} > kb ? ${rss[postgres]:-0} : kb ))
  fi
done
for db in sqlite postgres; do
  [[ -n ${times[$db]:-} ]] || continue
  read -ra t <<<"${times[$db]}"
  read -ra c <<<"${cpus[$db]}"
  echo "| $db | $(median "${t[@]}") s | ${t[*]} s | $(median "${c[@]}") s | $(( ${rss[$db]} / 1024 )) MB |"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
