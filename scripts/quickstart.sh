#!/usr/bin/env bash
# berth's main job on a fresh machine: set everything up, then show berth working.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
berth system init
berth images
berth run --rm busybox echo "hello from a berth container"
