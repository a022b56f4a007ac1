// Pull and push progress as the docker CLI shows it (jsonmessage.DisplayJSONMessagesStream): on a
// terminal one line per layer, redrawn in place with a bar; elsewhere plain status lines, the
// byte counts left out so that logs stay readable.
import type { ProgressMessage } from '../engine/engine.js';
import { humanSize } from './units.js';

const barWidth = 50;
/** Docker draws the bar only on terminals wider than this. */
const minColumnsForBar = 110;

/** Docker's JSONProgress.String(): "[=====>     ]  1.2MB/5MB", or "" when there are no numbers. */
export function progressText(detail: ProgressMessage['progressDetail'], columns: number): string {
  const current = detail?.current ?? 0;
  const total = detail?.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  const size = (n: number): string => humanSize(n, 4);
  if (total <= 0) return size(current).padStart(8);
  const filled = Math.min(Math.floor(Math.floor((current / total) * 100) / 2), barWidth);
  const bar = columns > minColumnsForBar ? `[${'='.repeat(filled)}>${' '.repeat(Math.max(barWidth - filled, 0))}] ` : '';
  const numbers = current > total ? size(current).padStart(8) : `${size(current).padStart(8)}/${size(total)}`;
  return bar + numbers;
}

export class ProgressRenderer {
  /** Layer id → its line, counted from the first progress line of the current block. */
  private lines = new Map<string, number>();

  constructor(
    private readonly out: NodeJS.WritableStream & { columns?: number },
    private readonly terminal: boolean,
  ) {}

  write(m: ProgressMessage): void {
    const isProgress = m.id !== undefined && m.progressDetail !== undefined;
    let diff = 0;
    let text = '';
    if (isProgress) {
      let line = this.lines.get(m.id!);
      if (line === undefined) {
        line = this.lines.size;
        this.lines.set(m.id!, line);
        if (this.terminal) text += '\n';
      }
      diff = this.lines.size - line;
      if (this.terminal) text += `\x1b[${diff}A`;
    } else {
      // A line that is not a layer's ends the block: later progress starts new lines.
      this.lines.clear();
    }
    const bar = progressText(m.progressDetail, this.out.columns ?? 80);
    if (this.terminal && isProgress) {
      text += `\x1b[2K\r${m.id}: ${m.status}${bar ? ' ' + bar : ''}\r`;
    } else if (bar === '') {
      text += `${m.id !== undefined ? m.id + ': ' : ''}${m.status}\n`;
    }
    if (this.terminal && diff > 0) text += `\x1b[${diff}B`;
    if (text) this.out.write(text);
  }
}
