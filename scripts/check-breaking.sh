#!/usr/bin/env bash
# The breaking-change gate: oasdiff (pinned in tools/oasdiff/go.mod) compares the released
# contract with the working one and fails on any breaking change that api/breaking-changes.md does
# not accept. `make check-breaking` runs it; docs/contract.md says how a release refreshes the baseline.
#
#   scripts/check-breaking.sh [BASE [REVISION [ACCEPTED]]]
#   defaults: api/baseline/openapi.yaml openapi.yaml api/breaking-changes.md
#
# OASDIFF names the binary (default: bin/oasdiff, built at the version tools/oasdiff/go.mod pins,
# a module of its own so that the service's go.mod does not carry it). Never add --open: it
# uploads both specs to a third party.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-api/baseline/openapi.yaml}
revision=${2:-openapi.yaml}
accepted=${3:-api/breaking-changes.md}
if [[ -z ${OASDIFF:-} ]]; then
  go -C tools/oasdiff build -o "$PWD/bin/oasdiff" github.com/oasdiff/oasdiff
  OASDIFF=bin/oasdiff
fi
# --severity-levels raises the checks our compatibility policy treats as breaking although oasdiff
# calls them informational (see api/oasdiff-levels.txt); external refs stay off, as the contract
# has none and the gate must not fetch anything.
exec "$OASDIFF" breaking --fail-on ERR --color never --format singleline \
  --allow-external-refs=false \
  --severity-levels api/oasdiff-levels.txt \
  --err-ignore "$accepted" --warn-ignore "$accepted" \
  "$base" "$revision"
