#!/usr/bin/env bash
# Installs what berth needs on a Debian 12 host and builds it. Idempotent: every step checks
# before it acts, so a second run changes nothing and takes a moment.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the OCI runtime, the monitor, the default image's busybox, layer
# decompression (zstd; isal's igzip inflates gzip layers several times faster than zlib), the
# init for `run --init` (tini-static), and (for tests) the reference registry and htpasswd.
packages=(runc conmon busybox-static zstd util-linux iptables containernetworking-plugins tini docker-registry apache2-utils isal)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "berth setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages, reinstalled only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Build the bundled CLI when any source is newer than it.
if [ ! -f dist/berth.cjs ] || [ -n "$(find src package.json scripts/build.mjs -newer dist/berth.cjs -print -quit)" ]; then
  npm run --silent build
fi

# The launcher on PATH points at this checkout's bundle.
launcher=/usr/local/bin/berth
want=$(sed "s|@BUNDLE@|$(pwd)/dist/berth.cjs|" scripts/launcher.sh.in)
if [ "$(cat "$launcher" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" > "$launcher"
  chmod 0755 "$launcher"
fi
