#!/usr/bin/env bash
# Contract scenarios through Stoplight Prism, a checker we did not write, in front of the real
# service: `prism proxy --errors openapi.yaml` validates every request and every response against
# the contract, and any violation it finds fails the run.
#
#   scripts/prism-contract.sh            (after `npm ci`; `make contract-prism` does both builds)
#
# What runs: the binary on a fresh SQLite database with the demo data, an organization of
# LARGE_ORG_SIZE customers and an empty one, then two Prism proxies in front of it:
#   strict  `prism proxy --errors`: the on-contract requests (200s, 404, well-formed but wrong
#           credentials). Prism must pass the request on, the answer must be the service's own, and
#           carry no `sl-violations` header.
#   lenient `prism proxy` (no --errors): the requests that break the contract on purpose (missing
#           bearer, missing header, bad header value). Prism must report them as request
#           violations in `sl-violations`, and nothing about the service's response; the strict
#           proxy must refuse them itself.
# Before the scenarios, a self-test shows that the strict proxy does catch an off-contract
# response (from a stub upstream), so a green run means something.
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Credentials: set here and nowhere else. Empty BEARER/API_TOKEN mean "take those printed by
# `customer-api serve --demo --dev`" (a dev access token and an API token for the demo tenant).
# The script issues two more itself, against the same data directory: an API token of
# OTHER_TENANT (`customer-api tokens issue`) and a dev access token without the read scope
# (`customer-api dev-token --scope profile`).
TENANT=${PRISM_TENANT:-tenant-demo}
BEARER=${PRISM_BEARER:-}
API_TOKEN=${PRISM_API_TOKEN:-}
OTHER_TENANT=tenant-other   # gets an API token of its own; the demo access token does not reach it
BAD_BEARER='not.a.valid-token'             # well-formed (RFC 6750 token68), but no issuer signed it
BAD_API_TOKEN='cat_0000000000000000.forged' # well-formed, but never issued
SERVE_FLAGS=(--demo --dev)

LARGE_ORG=org-large
LARGE_ORG_SIZE=${LARGE_ORG_SIZE:-1000}
EMPTY_ORG=org-empty
OTHER_ORG=org-of-other-tenant  # exists, but only for OTHER_TENANT
DEMO_ORG=org-retail

PRISM=node_modules/.bin/prism
[[ -x $PRISM ]] || { echo "prism is not installed: run 'npm ci'" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_for() { # wait_for URL WHAT LOG
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.2
  done
  echo "$2 did not come up; its log:" >&2
  cat "$3" >&2
  exit 1
}

bin="$work/customer-api"
go build -o "$bin" ./cmd/customer-api
data="$work/data"
log="$work/server.log"

# start_server starts the service and sets BASE (the API's URL) and, unless set above, the
# credentials from the curl line it prints.
start_server() {
  : >"$work/server.out"
  "$bin" serve "${SERVE_FLAGS[@]}" --addr 127.0.0.1:0 --metrics-addr off --data-dir "$data" --log-level warn \
    >"$work/server.out" 2>>"$log" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 150); do
    grep -q '^  curl ' "$work/server.out" 2>/dev/null && break
    sleep 0.2
  done
  BASE=$(sed -n 's/^customer-api listening on //p' "$work/server.out")
  [[ -n $BASE ]] || { echo "the service did not start:" >&2; cat "$work/server.out" "$log" >&2; exit 1; }
  local curl_line
  curl_line=$(grep '^  curl ' "$work/server.out")
  DEMO_BEARER=$(sed -E "s/.*-H 'Authorization: Bearer ([^']+)'.*/\1/" <<<"$curl_line")
  DEMO_API_TOKEN=$(sed -E "s/.*-H 'token: ([^']+)'.*/\1/" <<<"$curl_line")
}
stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

echo "== service: demo data, $LARGE_ORG ($LARGE_ORG_SIZE customers), $EMPTY_ORG"
start_server
# The large organization is made of the demo customers (every field filled) under new ids.
for org in org-retail org-wholesale; do
  curl -sf -H "Authorization: Bearer $DEMO_BEARER" -H "token: $DEMO_API_TOKEN" -H "tenantId: tenant-demo" \
    "$BASE/organization/getCustomers/$org" >"$work/$org.json"
done
stop_server
node - "$work" "$LARGE_ORG_SIZE" <<'JS'
const fs = require('fs');
const [work, n] = [process.argv[2], Number(process.argv[3])];
const pool = ['org-retail', 'org-wholesale'].flatMap((o) => JSON.parse(fs.readFileSync(`${work}/${o}.json`)));
const out = Array.from({ length: n }, (_, i) => {
  const entry = structuredClone(pool[i % pool.length]);
  entry.customer.id = `cus-large-${String(i).padStart(6, '0')}`;
  return entry;
});
fs.writeFileSync(`${work}/large.json`, JSON.stringify(out));
JS
echo '[]' >"$work/empty.json"
"$bin" import --data-dir "$data" --tenant "$TENANT" --organization "$LARGE_ORG" "$work/large.json"
"$bin" import --data-dir "$data" --tenant "$TENANT" --organization "$EMPTY_ORG" "$work/empty.json"
"$bin" import --data-dir "$data" --tenant "$OTHER_TENANT" --organization "$OTHER_ORG" "$work/empty.json"
OTHER_API_TOKEN=$("$bin" tokens issue --data-dir "$data" --tenant "$OTHER_TENANT" --name prism-contract --expires 1h)
# A genuine access token of the tenant, from the same development issuer, without the read scope.
NO_SCOPE_BEARER=$("$bin" dev-token --data-dir "$data" --tenant "$TENANT" --scope profile --ttl 1h)
start_server
BEARER=${BEARER:-$DEMO_BEARER}
API_TOKEN=${API_TOKEN:-$DEMO_API_TOKEN}
echo "service at $BASE"

start_prism() { # start_prism NAME UPSTREAM [--errors]; sets PRISM_URL; wait_prism NAME waits for it
  local name=$1 upstream=$2 port
  shift 2
  port=$(free_port)
  "$PRISM" proxy "$@" --host 127.0.0.1 --port "$port" openapi.yaml "$upstream" >"$work/prism-$name.log" 2>&1 &
  pids+=("$!")
  PRISM_URL="http://127.0.0.1:$port"
  echo "$PRISM_URL" >"$work/prism-$name.url"
}
wait_prism() { wait_for "$(cat "$work/prism-$1.url")/" "prism ($1)" "$work/prism-$1.log"; }

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; shift; for line in "$@"; do echo "       $line"; done; }

# request URL [curl args...]: sends one GET and leaves STATUS, HEADERS (file) and BODY (file).
request() {
  local url=$1
  shift
  HEADERS="$work/headers" BODY="$work/body"
  STATUS=$(curl -s -o "$BODY" -D "$HEADERS" -w '%{http_code}' "$@" "$url")
}
header() { grep -i "^$1:" "$HEADERS" | head -n1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }

# check_body STATUS: the body is what the contract promises for the status, as this script reads
# it (an array for 200; problem details with the same status otherwise). Prints what is wrong.
check_body() {
  node - "$1" "$BODY" "$(header content-type)" <<'JS'
const fs = require('fs');
const [status, file, ct] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
// A 304 has no body. Through Prism's proxy curl was seen to read the organization's list after
// the service's 304 (the service itself sends none: a plain curl and the Go tests show it), so
// only the status and Prism's verdict are checked here.
if (status === 304) process.exit(0);
let body;
try { body = JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { console.log(`body is not JSON: ${e.message}`); process.exit(0); }
if (status === 200) {
  if (ct !== 'application/json') console.log(`Content-Type ${ct}, want application/json`);
  if (!Array.isArray(body)) console.log('body is not an array');
} else {
  if (ct !== 'application/problem+json') console.log(`Content-Type ${ct}, want application/problem+json`);
  if (body.status !== status) console.log(`problem status ${body.status}, want ${status}`);
  if (typeof body.type !== 'string' || !body.type.startsWith('https://customer-api.cyrexa.dev/problems/'))
    console.log(`problem type ${body.type} is not the service's`);
}
JS
}
count() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).length)' "$BODY"; }

# on_contract NAME WANT_STATUS PATH [curl args...]: through the strict proxy; the service's own
# answer must come back, with no violation reported.
on_contract() {
  local name=$1 want=$2 path=$3
  shift 3
  request "$STRICT$path" "$@"
  local problems=()
  [[ $STATUS == "$want" ]] || problems+=("status $STATUS, want $want")
  [[ -z $(header sl-violations) ]] || problems+=("sl-violations: $(header sl-violations)")
  [[ -n $(header x-request-id) ]] || problems+=("no X-Request-Id: the answer is Prism's, not the service's: $(head -c 400 "$BODY")")
  local wrong
  wrong=$(check_body "$STATUS")
  [[ -z $wrong ]] || problems+=("$wrong")
  if ((${#problems[@]})); then fail "$name" "${problems[@]}"; else pass "$name ($STATUS)"; fi
}

# off_contract NAME WANT_STATUS PATH [curl args...]: a request that breaks the contract on
# purpose. The strict proxy refuses it itself; through the lenient proxy the service answers
# WANT_STATUS and Prism reports request violations only, none about the response.
off_contract() {
  local name=$1 want=$2 path=$3
  shift 3
  local problems=()
  request "$STRICT$path" "$@"
  if [[ -n $(header x-request-id) || $STATUS -lt 400 ]]; then
    problems+=("strict proxy passed it on (status $STATUS): Prism does not see the request as off-contract")
  fi
  request "$LENIENT$path" "$@"
  local violations
  violations=$(header sl-violations)
  [[ $STATUS == "$want" ]] || problems+=("service answered $STATUS, want $want")
  [[ -n $(header x-request-id) ]] || problems+=("the answer is not the service's: $(head -c 400 "$BODY")")
  if [[ -z $violations ]]; then
    problems+=("Prism reported no request violation")
  else
    local bad
    bad=$(node -e '
      const v = JSON.parse(process.argv[1]);
      for (const x of v) if (x.location[0] !== "request") console.log(JSON.stringify(x));' "$violations")
    [[ -z $bad ]] || problems+=("violations beyond the request: $bad")
  fi
  local wrong
  wrong=$(check_body "$STATUS")
  [[ -z $wrong ]] || problems+=("$wrong")
  if ((${#problems[@]})); then fail "$name" "${problems[@]}"; else pass "$name ($STATUS; Prism: $violations)"; fi
}

# --- Self-test: Prism in front of a stub that answers off-contract must flag the response.
stub_port=$(free_port)
node -e '
  require("http").createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify([{ customer: { id: "x", customerStatus: "bogus", password: "leaked" } }]));
  }).listen(Number(process.argv[1]), "127.0.0.1");' "$stub_port" &
pids+=("$!")
wait_for "http://127.0.0.1:$stub_port/" "stub upstream" /dev/null
# All four proxies start at once (each takes seconds); the scenarios wait for theirs.
start_prism selftest "http://127.0.0.1:$stub_port" --errors
SELFTEST_STRICT=$PRISM_URL
start_prism selftest-lenient "http://127.0.0.1:$stub_port"
SELFTEST_LENIENT=$PRISM_URL
start_prism strict "$BASE" --errors
STRICT=$PRISM_URL
start_prism lenient "$BASE"
LENIENT=$PRISM_URL
wait_prism selftest
wait_prism selftest-lenient
request "$SELFTEST_STRICT/organization/getCustomers/$DEMO_ORG" -H "Authorization: Bearer $BEARER" -H "token: $API_TOKEN" -H "tenantId: $TENANT"
if [[ $STATUS -ge 500 || -n $(header sl-violations) ]] && grep -q customerStatus "$BODY" "$HEADERS"; then
  pass "self-test: Prism flags an off-contract response ($STATUS)"
else
  fail "self-test: Prism did not flag an off-contract response" "status $STATUS" "$(cat "$HEADERS" "$BODY" | head -c 800)"
fi
request "$SELFTEST_LENIENT/organization/getCustomers/$DEMO_ORG" -H "Authorization: Bearer $BEARER" -H "token: $API_TOKEN" -H "tenantId: $TENANT"
if [[ $(header sl-violations) == *'"response"'* ]]; then
  pass "self-test: the lenient proxy reports response violations in sl-violations"
else
  fail "self-test: the lenient proxy reported no response violation" "sl-violations: $(header sl-violations)"
fi

wait_prism strict
wait_prism lenient
echo "== scenarios through Prism (strict $STRICT, lenient $LENIENT)"

creds=(-H "Authorization: Bearer $BEARER" -H "token: $API_TOKEN" -H "tenantId: $TENANT")
customers=/organization/getCustomers

on_contract "a large organization" 200 "$customers/$LARGE_ORG" "${creds[@]}"
n=$(count)
[[ $n == "$LARGE_ORG_SIZE" ]] && pass "the large organization has $n customers" || fail "the large organization has $n customers, want $LARGE_ORG_SIZE"
on_contract "the demo organization" 200 "$customers/$DEMO_ORG" "${creds[@]}"
etag=$(header etag)
[[ $etag == \"*\" ]] && pass "the demo organization has an ETag ($etag)" || fail "the demo organization has no strong ETag: '$etag'"
on_contract "an unchanged organization (If-None-Match)" 304 "$customers/$DEMO_ORG" "${creds[@]}" -H "If-None-Match: $etag"
on_contract "an organization changed since (If-None-Match)" 200 "$customers/$DEMO_ORG" "${creds[@]}" -H 'If-None-Match: "stale"'
on_contract "an empty organization" 200 "$customers/$EMPTY_ORG" "${creds[@]}"
n=$(count)
[[ $n == 0 ]] && pass "the empty organization has no customers" || fail "the empty organization has $n customers"
on_contract "an unknown organization" 404 "$customers/org-unknown" "${creds[@]}"
on_contract "another tenant's organization" 404 "$customers/$OTHER_ORG" "${creds[@]}"
on_contract "a bearer no issuer signed" 401 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $BAD_BEARER" -H "token: $API_TOKEN" -H "tenantId: $TENANT"
on_contract "an API token never issued" 401 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $BEARER" -H "token: $BAD_API_TOKEN" -H "tenantId: $TENANT"
on_contract "an API token of another tenant" 401 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $BEARER" -H "token: $OTHER_API_TOKEN" -H "tenantId: $TENANT"
on_contract "an access token that does not reach the tenant" 403 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $BEARER" -H "token: $OTHER_API_TOKEN" -H "tenantId: $OTHER_TENANT"
on_contract "an access token without the customers:read scope" 403 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $NO_SCOPE_BEARER" -H "token: $API_TOKEN" -H "tenantId: $TENANT"
on_contract "an Accept the API cannot answer" 406 "$customers/$DEMO_ORG" "${creds[@]}" -H 'Accept: text/html'

off_contract "no Authorization header" 401 "$customers/$DEMO_ORG" -H "token: $API_TOKEN" -H "tenantId: $TENANT"
off_contract "a Basic instead of a Bearer" 401 "$customers/$DEMO_ORG" \
  -H "Authorization: Basic Zm9vOmJhcg==" -H "token: $API_TOKEN" -H "tenantId: $TENANT"
off_contract "no token header" 400 "$customers/$DEMO_ORG" -H "Authorization: Bearer $BEARER" -H "tenantId: $TENANT"
off_contract "no tenantId header" 400 "$customers/$DEMO_ORG" -H "Authorization: Bearer $BEARER" -H "token: $API_TOKEN"
off_contract "a tenantId that is not an identifier" 400 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $BEARER" -H "token: $API_TOKEN" -H "tenantId: tenant demo!"
off_contract "a token header with a space" 400 "$customers/$DEMO_ORG" \
  -H "Authorization: Bearer $BEARER" -H "token: two words" -H "tenantId: $TENANT"
off_contract "an organization id that is not an identifier" 400 "$customers/org%20retail" "${creds[@]}"

echo "$passed passed, $failed failed"
((failed == 0))
