// JSON text in which bigints are bare integers, as Go writes its int64 and uint64 values: runc
// reads RLIM_INFINITY that way, and a `--format '{{json .}}'` shows an event's TimeNano so.
// JSON numbers are not limited to 2^53; JavaScript's JSON.stringify refuses bigints.

/**
 * Most values hold no bigint, and JSON.stringify stays on V8's fast path only without a
 * replacer: with one, a container's OCI spec (its seccomp profile's hundreds of names) took
 * about 3 ms of every start.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    // "Do not know how to serialize a BigInt"; anything else (a cycle) fails again below.
    if (!(err instanceof TypeError)) throw err;
  }
  const tag = '__berth_int__:';
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? tag + v.toString() : v));
  return text.replace(/"__berth_int__:(-?\d+)"/g, '$1');
}
