// berth's entry point. `--version` is answered before anything else loads so that the
// most common probe of the binary costs little more than starting node.
import { berthVersion } from '../version.js';

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(`berth version ${berthVersion}\n`);
} else {
  const { runCli } = await import('./program.js');
  await runCli(argv);
}
