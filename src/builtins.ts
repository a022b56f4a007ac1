// Node built-ins that only some commands need, loaded when first used. The CLI is one bundle
// whose modules all run at start, and node:http, node:https, node:tls, node:zlib,
// node:worker_threads and node:dns cost about 5 ms together to load: `run` and `ps` need none
// of them, a pull or a push needs them all. node:child_process and node:net (about 1 ms more,
// with dgram and the socket plumbing) are for host tools and sockets; monitors start through
// posix_spawn (src/sys/libc.ts). node:crypto (about 2 ms more) is for hashing
// blobs; random IDs and names come from src/sys/random.ts. A static import would load them at every start,
// and a dynamic import() cannot be used: the CLI bundle runs inside vm.Script
// (src/cli/loader.ts), where Node 20 has no loader for it.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

interface Lazy {
  http: typeof import('node:http');
  https: typeof import('node:https');
  tls: typeof import('node:tls');
  zlib: typeof import('node:zlib');
  workerThreads: typeof import('node:worker_threads');
  dns: typeof import('node:dns');
  readlinePromises: typeof import('node:readline/promises');
  crypto: typeof import('node:crypto');
  childProcess: typeof import('node:child_process');
  net: typeof import('node:net');
}

const ids: Record<keyof Lazy, string> = {
  http: 'node:http',
  https: 'node:https',
  tls: 'node:tls',
  zlib: 'node:zlib',
  workerThreads: 'node:worker_threads',
  dns: 'node:dns',
  readlinePromises: 'node:readline/promises',
  crypto: 'node:crypto',
  childProcess: 'node:child_process',
  net: 'node:net',
};

/** `lazy.https` is node:https, required (once, then from node's cache) when read. */
export const lazy = Object.defineProperties(
  {},
  Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, { get: () => load(id) as unknown }])),
) as Lazy;
