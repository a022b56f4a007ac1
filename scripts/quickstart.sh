#!/usr/bin/env bash
# berth's main job on a fresh machine: set everything up, then show berth working, ending with
# a web page served from a container through a published port and fetched from the host.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
berth system init
berth images
berth run --rm busybox echo "hello from a berth container"

# A leftover of an interrupted earlier run goes first, so that this part is idempotent too.
name=berth-quickstart-web
berth rm -f "$name" >/dev/null 2>&1 || true
trap 'berth rm -f "$name" >/dev/null 2>&1 || true' EXIT
berth run -d --name "$name" -p 127.0.0.1::80 busybox \
  sh -c 'mkdir -p /www && echo "<h1>hello from a berth container, through a published port</h1>" > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
address=$(berth port "$name" 80/tcp)
echo "fetching http://$address/ from the host:"
# httpd may need a moment to listen; node's fetch keeps this free of extra tools.
node -e '
const url = process.argv[1];
const deadline = Date.now() + 5000;
(async () => {
  for (;;) {
    try {
      process.stdout.write(await (await fetch(url)).text());
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
})();
' "http://$address/"
