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
node --test --test-concurrency=1 "${unit[@]}" "${integration[@]}"
