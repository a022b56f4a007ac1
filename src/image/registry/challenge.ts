// WWW-Authenticate challenges (RFC 7235): what a registry answers a 401 with. One header may
// carry several challenges, and a parameter list uses the same comma that separates them, so
// a name not followed by "=" is what starts the next challenge.

export interface Challenge {
  /** Lowercased: 'basic', 'bearer'. */
  scheme: string;
  /** Parameter names lowercased; values unquoted. */
  params: Record<string, string>;
}

const tokenChar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// token68 (RFC 7235) also allows '/' and '=' padding: credentials in a challenge, rare but legal.
const token68Char = /[-._~+/0-9A-Za-z]/;

export function parseWwwAuthenticate(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseWwwAuthenticate(h));
  const s = header;
  let i = 0;
  const out: Challenge[] = [];

  const skipSpaces = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && tokenChar.test(s[i])) i++;
    return s.slice(start, i);
  };
  // Strictly a token, but servers send unquoted URLs ("realm=https://..."): anything up to a comma or space.
  const readBare = (): string => {
    const start = i;
    while (i < s.length && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    let value = '';
    i++; // opening quote
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      value += s[i++];
    }
    i++; // closing quote (or end of input for an unterminated string)
    return value;
  };
  /** Whether the text at i is `name =`, i.e. a parameter rather than the next scheme. */
  const atParam = (): boolean => {
    const save = i;
    const name = readToken();
    skipSpaces();
    const isParam = name !== '' && s[i] === '=';
    i = save;
    return isParam;
  };

  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const scheme = readToken();
    if (scheme === '') {
      i++; // not a token: skip it rather than give up on the rest of the header
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipSpaces();
    if (i < s.length && s[i] !== ',' && !atParam()) {
      const start = i;
      while (i < s.length && token68Char.test(s[i])) i++;
      while (i < s.length && s[i] === '=') i++;
      if (i > start) challenge.params.token68 = s.slice(start, i);
      continue;
    }
    while (i < s.length) {
      skipSpaces();
      if (!atParam()) break;
      const name = readToken().toLowerCase();
      skipSpaces();
      i++; // '='
      skipSpaces();
      challenge.params[name] = s[i] === '"' ? readQuoted() : readBare();
      skipSpaces();
      if (s[i] !== ',') break;
      // A comma ends this parameter; what follows is another parameter or the next challenge.
      while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    }
  }
  return out;
}
