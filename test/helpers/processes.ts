// Host processes a test may have left behind, found by what their command lines mention.
import { readdirSync, readFileSync } from 'node:fs';

export function processesUsing(text: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(text)) out.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // exited while listing
    }
  }
  return out;
}
