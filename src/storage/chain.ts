// Chain IDs name a layer together with everything below it (OCI image spec, "ChainID"), so the
// same diff on top of different parents is a different unpacked layer.
import { checkDigest, sha256Digest } from './content.js';

/** chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    checkDigest(diffId);
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : sha256Digest(`${parent} ${diffId}`));
  }
  return out;
}
