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
  if (table) lines.push(compileTemplate(body, { header: true })(Object.assign(Object.create(headerMethods) as object, opts.headers)));
  // Docker's list contexts marshal their fields in sorted order; `{{json .}}` shows it.
  for (const item of items) lines.push(render(sortKeys(item)));
  const text = lines.map((l) => l + '\n').join('');
  return table ? tabwrite(text) : text;
}

/**
 * Docker's header context (SubHeaderContext): `{{.Label "com.example.some-key"}}` heads its
 * column with the key's last dotted part, dashes and underscores as spaces: "some key".
 */
const headerMethods = {
  Label(name: string): string {
    return name.slice(name.lastIndexOf('.') + 1).replace(/[-_]/g, ' ');
  },
};

/**
 * A list row with Docker's `{{.Label "key"}}` (the value of one label, "" when unset) next to
 * its fields. The method lives on the row's prototype, so `{{json .}}` leaves it out, as
 * docker marshals only the context's methods without arguments.
 */
export function withLabelMethod<T extends object>(row: T, labels: Record<string, string> | null | undefined): T {
  const methods = {
    Label(name: string): string {
      return labels && Object.hasOwn(labels, name) ? labels[name] : '';
    },
  };
  return Object.assign(Object.create(methods) as T, row);
}

/** `inspect` output: a JSON array indented like Docker's, or one template line per object. */
export function renderInspect(items: object[], format?: string): string {
  if (!format) return JSON.stringify(items, null, 4) + '\n';
  const { body } = parseFormat(format);
  const render = compileTemplate(body);
  return items.map((i) => render(i) + '\n').join('');
}

/** The row's fields in sorted order, keeping its prototype's methods. */
export function sortKeys(item: object): object {
  const sorted = Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return Object.assign(Object.create(Object.getPrototypeOf(item) as object | null) as object, sorted);
}
