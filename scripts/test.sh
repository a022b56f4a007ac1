#!/usr/bin/env bash
# The test command: set up (idempotent), compile the tests, run unit then integration tests
# with Node's own runner. Integration tests need root: they mount, unpack and run containers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf build
npx tsc -p .
mapfile -t unit < <(find build/test/unit -name '*.test.js' | sort)
mapfile -t integration < <(find build/test/integration -name '*.test.js' 2>/dev/null | sort)
# berth runs with the environment its launcher gives it (scripts/launcher.sh.in): Node 20 parses
# NODE_EXTRA_CA_CERTS at every start, and the suite starts berth thousands of times.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  export BERTH_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS
  unset NODE_EXTRA_CA_CERTS
fi
node --test --test-concurrency=1 "${unit[@]}" "${integration[@]}"
