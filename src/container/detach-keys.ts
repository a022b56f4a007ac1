// Detach keys: the key sequence that detaches a client from a container's terminal and leaves
// the container running (Docker's ctrl-p,ctrl-q). Docker's syntax: a comma-separated list of
// keys, each a single character or ctrl-<c> with c one of a-z @ [ \ ] ^ _.
import { InvalidArgumentError } from '../errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_PUNCT: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** The bytes of a detach key sequence; '' gives Docker's default. */
export function parseDetachKeys(keys: string): Buffer {
  const spec = keys === '' ? DEFAULT_DETACH_KEYS : keys;
  const bad = () => new InvalidArgumentError('invalid_detach_keys', `Invalid escape keys (${keys}) provided`);
  const bytes: number[] = [];
  for (const key of spec.split(',')) {
    if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(key);
    if (!m) throw bad();
    const c = m[1].toLowerCase();
    if (c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
    else if (c in CTRL_PUNCT) bytes.push(CTRL_PUNCT[c]);
    else throw bad();
  }
  if (bytes.some((b) => b > 127)) throw bad();
  return Buffer.from(bytes);
}

/**
 * Watches a client's input for the detach sequence, as Docker's escape proxy does: bytes that
 * may start the sequence are held back until it is clear whether they do, and are passed on
 * when they turn out not to.
 */
export class DetachKeyScanner {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** What to send on for this chunk of input, and whether the sequence completed in it. */
  scan(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detach: true };
        }
        continue;
      }
      // A broken sequence: the held bytes were input after all. The byte that broke it may
      // itself start a new sequence.
      for (let j = 0; j < this.matched; j++) out.push(this.keys[j]);
      this.matched = 0;
      if (b === this.keys[0]) this.matched = 1;
      else out.push(b);
      if (this.matched === this.keys.length) {
        this.matched = 0;
        return { forward: Buffer.from(out), detach: true };
      }
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
