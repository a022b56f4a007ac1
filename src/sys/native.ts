// The two native modules, loaded the cheap way. Both packages' entry points spend more time
// finding their addon than loading it: koffi's pulls in https, zlib and crypto to support
// its download tooling (about 7 ms at every berth start), better-sqlite3's goes through the
// `bindings` package's search. berth runs on Linux only, so it names the addon file itself
// and falls back to the package entry when that file is not where this version keeps it.
import { createRequire } from 'node:module';
import type koffiModule from 'koffi';

const require = createRequire(import.meta.url);

function loadKoffi(): typeof koffiModule {
  try {
    return require(`koffi/build/koffi/linux_${process.arch}/koffi.node`) as typeof koffiModule;
  } catch {
    return require('koffi') as typeof koffiModule;
  }
}

let loaded: typeof koffiModule | undefined;

/**
 * koffi, loaded when first used: loading its addon takes about 2.5 ms, and many commands (`ps`,
 * `images`, every `--help`) make no call through it.
 */
export const koffi = new Proxy({} as typeof koffiModule, {
  get: (_target, key) => Reflect.get((loaded ??= loadKoffi()), key) as unknown,
});

/** better-sqlite3's addon path, for its `nativeBinding` option; undefined lets the package search. */
export function sqliteBinding(): string | undefined {
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node');
  } catch {
    return undefined;
  }
}
