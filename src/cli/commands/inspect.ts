// `inspect` of several objects: the ones found are printed together, each one not found is
// an error line, and the exit code says whether any was missing (as docker does).
import { renderInspect } from '../output.js';

export async function inspectEach(names: string[], lookup: (name: string) => Promise<object>, format?: string): Promise<number> {
  const found: object[] = [];
  let failed = false;
  for (const name of names) {
    try {
      found.push(await lookup(name));
    } catch (err) {
      failed = true;
      process.stderr.write(`Error: ${(err as Error).message}\n`);
    }
  }
  if (found.length > 0 || !format) process.stdout.write(renderInspect(found, format));
  return failed ? 1 : 0;
}
