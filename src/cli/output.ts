// Rendering lists and objects the way the docker CLI does: default tables, `--format` Go
// templates (with or without `table`), `json`, and `-q`.
import { compileTemplate, parseFormat } from './template.js';
import { tabwrite } from './table.js';

export interface ListFormat {
  /** The user's --format, if any. */
  format?: string;
  /** Docker's default for this list, e.g. "table {{.ID}}\t{{.Names}}". */
  defaultFormat: string;
  /** Header text per field, used for `table` formats. */
  headers: Record<string, string>;
}

export function renderList(items: object[], opts: ListFormat): string {
  const { table, body } = parseFormat(opts.format && opts.format.length > 0 ? opts.format : opts.defaultFormat);
  const render = compileTemplate(body);
  const lines: string[] = [];
  // Header cells go through the same template with its functions turned into identities,
  // as docker does, so `{{json .Labels}}` heads its column LABELS, not "LABELS".
  if (table) lines.push(compileTemplate(body, { header: true })(opts.headers));
  // Docker's list contexts marshal their fields in sorted order; `{{json .}}` shows it.
  for (const item of items) lines.push(render(sortKeys(item)));
  const text = lines.map((l) => l + '\n').join('');
  return table ? tabwrite(text) : text;
}

/** `inspect` output: a JSON array indented like Docker's, or one template line per object. */
export function renderInspect(items: object[], format?: string): string {
  if (!format) return JSON.stringify(items, null, 4) + '\n';
  const { body } = parseFormat(format);
  const render = compileTemplate(body);
  return items.map((i) => render(i) + '\n').join('');
}

function sortKeys(item: object): object {
  return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
