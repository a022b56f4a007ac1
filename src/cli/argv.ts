// The command words of a berth command line ("run", "network create"), found without parsing
// the flags: the launcher keys its code cache by them and the CLI defines only the commands
// they need. Global options come before the command, as for docker.

/** The commands whose subcommands are the second word. */
export const GROUP_COMMANDS = new Set(['builder', 'container', 'image', 'network', 'system', 'volume']);
const OPTIONS_WITH_VALUES = new Set(['--root', '--runroot', '-H', '--host']);

/** The first word, and the second when the first is a group; none when there are none. */
export function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i];
    if (a.startsWith('-')) {
      if (words.length > 0) break;
      if (OPTIONS_WITH_VALUES.has(a)) i++;
      continue;
    }
    words.push(a);
    if (!GROUP_COMMANDS.has(a)) break;
  }
  return words;
}
