#!/usr/bin/env bash
# Proves the breaking-change gate bites: runs scripts/check-breaking.sh (the same command as
# `make check-breaking`) against temporary copies of openapi.yaml with one change each, and
# checks that breaking ones fail and compatible ones pass.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go -C tools/oasdiff build -o "$PWD/bin/oasdiff" github.com/oasdiff/oasdiff # as check-breaking.sh does, once
export OASDIFF=bin/oasdiff
base=openapi.yaml
none="$work/none.md"
: >"$none"

passed=0 failed=0
# expect NAME WANT(pass|fail) PATTERN REVISION [ACCEPTED]: PATTERN must appear in the output of a
# failing run (the change oasdiff names), so a failure for another reason does not count.
expect() {
  local name=$1 want=$2 pattern=$3 revision=$4 accepted=${5:-$none} out rc=0
  if cmp -s "$base" "$revision" && [[ $name != "the same contract" ]]; then
    echo "FAIL $name: the mutation changed nothing"
    failed=$((failed + 1))
    return
  fi
  out=$(scripts/check-breaking.sh "$base" "$revision" "$accepted" 2>&1) || rc=$?
  if [[ $want == pass && $rc == 0 ]] || [[ $want == fail && $rc == 1 && $out == *"$pattern"* ]]; then
    echo "ok   $name (exit $rc)"
    passed=$((passed + 1))
  else
    echo "FAIL $name: exit $rc, want $want${pattern:+ naming \"$pattern\"}"
    sed 's/^/       /' <<<"$out"
    failed=$((failed + 1))
  fi
}
mutate() { # mutate NAME SED-SCRIPT: a copy of openapi.yaml changed by sed
  sed "$2" "$base" >"$work/$1.yaml"
  echo "$work/$1.yaml"
}

expect "the same contract" pass "" "$base"
expect "a description reworded" pass "" \
  "$(mutate reworded 's/^      summary: Get the customers of an organization$/      summary: List the customers of an organization/')"
expect "an optional response property added" pass "" \
  "$(mutate added '/^        customerName:$/i\        nickname:\n          type: string\n          description: A name the customer chose.')"

removed=$(mutate removed '/^        customerName:$/,/^          example: Anna Gruber$/d')
expect "a response property removed" fail "customerName" "$removed"
expect "a response enum value added" fail "under_verification" \
  "$(mutate enum-added 's/^        - under_verificaiton$/        - under_verificaiton\n        - under_verification/')"
expect "a response enum value renamed" fail "bankrupted" "$(mutate enum-renamed 's/^        - bancrupted$/        - bankrupted/')"
expect "a new required request header" fail "new-required-request-parameter" \
  "$(mutate new-header "s|^        - \$ref: '#/components/parameters/TenantId'$|&\n        - name: X-Partner\n          in: header\n          required: true\n          description: Partner id.\n          schema:\n            type: string|")"
expect "identifiers limited to fewer characters" fail "request-parameter-max-length-decreased" \
  "$(mutate shorter-ids 's/^      maxLength: 128$/      maxLength: 64/')"
expect "the operation's path renamed" fail "api-path-removed-without-deprecation" \
  "$(mutate path-renamed 's|^  /organization/getCustomers/{organizationId}:$|  /organizations/{organizationId}/customers:|')"
expect "a response property's type changed" fail "response-property-type-changed" \
  "$(mutate boolean-to-string 's/^          type: boolean$/          type: string/')"

# An intended break passes once it is recorded, and only that one.
accepted="$work/accepted.md"
line=$(OASDIFF=bin/oasdiff scripts/check-breaking.sh "$base" "$removed" "$none" 2>&1 | grep -o 'GET /organization.*status' || true)
printf '# test\n- 2026-11-26 agreed with partners: %s\n' "$line" >"$accepted"
expect "a removal recorded in the accepted list" pass "" "$removed" "$accepted"
expect "an unrecorded break beside a recorded one" fail "bankrupted" \
  "$(sed 's/^        - bancrupted$/        - bankrupted/' "$removed" >"$work/both.yaml"; echo "$work/both.yaml")" "$accepted"

echo "$passed passed, $failed failed"
((failed == 0))
