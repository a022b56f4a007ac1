// Column alignment as the docker CLI does it: its fork of Go's text/tabwriter, created as
// NewWriter(out, 10, 1, 3, ' ', 0) — minimum cell width 10 including padding, 3 spaces of
// padding, space as the pad character, left-aligned, cells measured in terminal columns.

const MIN_WIDTH = 10;
const PADDING = 3;

interface Cell {
  text: string;
  width: number;
}

/** Rows of cells to an aligned table; every row ends with '\n'. */
export function renderTable(rows: string[][]): string {
  return tabwrite(rows.map((r) => r.join('\t') + '\n').join(''));
}

/**
 * Aligns tab-separated text. As in Go's tabwriter, a cell belongs to a column only when a tab
 * terminates it: the text after a line's last tab is written as-is, and a column is a run of
 * adjacent lines that all have a cell in it, so its width is set by that run alone.
 */
export function tabwrite(text: string): string {
  // A form feed is a newline that also flushes: the text after it starts fresh columns.
  const sections = text.split('\f');
  return sections.map((s, i) => alignSection(i < sections.length - 1 ? s + '\n' : s)).join('');
}

function alignSection(text: string): string {
  const rawLines = text.split('\n');
  const lines: Cell[][] = rawLines.map((line, i) => {
    const cells = line.split(/[\t\v]/);
    // Unterminated text at the very end: a trailing tab there ends a cell but starts none.
    if (i === rawLines.length - 1 && cells[cells.length - 1] === '') cells.pop();
    return cells.map((c) => ({ text: c, width: displayWidth(c) }));
  });
  const out: string[] = [];
  format(lines, out, [], 0, lines.length);
  return out.join('');
}

/** Sizes the column at depth widths.length for each run of lines that has it, then recurses. */
function format(lines: Cell[][], out: string[], widths: number[], line0: number, line1: number): void {
  const column = widths.length;
  for (let i = line0; i < line1; i++) {
    if (column >= lines[i].length - 1) continue;
    writeLines(lines, out, widths, line0, i);
    line0 = i;
    let width = MIN_WIDTH;
    for (; i < line1 && column < lines[i].length - 1; i++) {
      width = Math.max(width, lines[i][column].width + PADDING);
    }
    widths.push(width);
    format(lines, out, widths, line0, i);
    widths.pop();
    line0 = i;
  }
  writeLines(lines, out, widths, line0, line1);
}

function writeLines(lines: Cell[][], out: string[], widths: number[], line0: number, line1: number): void {
  for (let i = line0; i < line1; i++) {
    lines[i].forEach((cell, j) => {
      out.push(cell.text);
      if (j < widths.length) out.push(' '.repeat(widths[j] - cell.width));
    });
    if (i + 1 < lines.length) out.push('\n');
  }
}

/**
 * Terminal columns taken by s, as go-runewidth counts them: each grapheme cluster is as wide
 * as its first non-zero-width code point; East Asian wide and emoji-presentation characters
 * take two columns, combining marks, format and control characters none.
 */
export function displayWidth(s: string): number {
  // ASCII, the usual case, is one column per character apart from control characters.
  if (/^[\x20-\x7e]*$/.test(s)) return s.length;
  let width = 0;
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const { segment } of graphemes.segment(s)) {
    for (const ch of segment) {
      const w = codePointWidth(ch.codePointAt(0)!);
      if (w > 0) {
        width += w;
        break;
      }
    }
  }
  return width;
}

// Made on first use: creating a segmenter loads ICU data, ~10 ms of every command's start-up.
let graphemes: Intl.Segmenter | undefined;
const zeroWidth = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]$/u;
const emojiPresentation = /^\p{Emoji_Presentation}$/u;
// East Asian Wide and Fullwidth blocks (Unicode EastAsianWidth W/F), coalesced.
const WIDE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

function codePointWidth(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (zeroWidth.test(ch)) return 0;
  if (emojiPresentation.test(ch)) return 2;
  for (const [lo, hi] of WIDE_RANGES) if (cp >= lo && cp <= hi) return 2;
  return 1;
}
