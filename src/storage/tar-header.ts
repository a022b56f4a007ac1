// Writing tar headers: ustar, with a PAX extended header in front when a field does not fit
// (long names and link targets, large sizes and ids) or the entry has extended attributes.
// tar-stream writes PAX records as UTF-8 text, which corrupts binary attribute values such as
// security.capability; here every record value is written byte for byte.

export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

export interface TarEntry {
  /** As it appears in the archive (a directory's ends with "/"). */
  name: string;
  type: TarEntryType;
  /** Permission bits with setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow (regular files only). */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as SCHILY.xattr.<name> records. */
  xattrs?: Map<string, Buffer>;
}

const TYPEFLAGS: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

const BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that round `size` bytes of data up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) for `e`: a PAX header and its records first when needed. */
export function encodeTarHeader(e: TarEntry): Buffer {
  const pax: [string, Buffer][] = [];
  const name = splitName(e.name);
  if (!name) pax.push(['path', Buffer.from(e.name)]);
  const linkname = e.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100) pax.push(['linkpath', Buffer.from(linkname)]);
  const numeric = (key: string, value: number, digits: number): number => {
    if (value < 8 ** digits) return value;
    pax.push([key, Buffer.from(String(value))]);
    return 0;
  };
  const uid = numeric('uid', e.uid, 7);
  const gid = numeric('gid', e.gid, 7);
  const size = numeric('size', e.size, 11);
  for (const [key, value] of e.xattrs ?? []) pax.push([`SCHILY.xattr.${key}`, value]);
  const header = ustar({
    name: name?.name ?? truncate(e.name, 100),
    prefix: name?.prefix ?? '',
    mode: e.mode & 0o7777,
    uid,
    gid,
    size,
    mtime: Math.max(0, Math.floor(e.mtime)),
    typeflag: TYPEFLAGS[e.type],
    linkname: Buffer.byteLength(linkname) > 100 ? truncate(linkname, 100) : linkname,
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
  });
  if (pax.length === 0) return header;
  const records = Buffer.concat(pax.map(([key, value]) => paxRecord(key, value)));
  const paxHeader = ustar({
    name: truncate(`PaxHeaders.0/${e.name.replace(/\/+$/, '').split('/').pop() ?? ''}`, 100),
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: Math.max(0, Math.floor(e.mtime)),
    typeflag: 'x',
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, records, tarPadding(records.length), header]);
}

/** ustar's name and prefix fields, or undefined when the name needs a PAX record. */
function splitName(name: string): { name: string; prefix: string } | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { name, prefix: '' };
  if (bytes > 256) return undefined;
  // The prefix ends at a "/" that the stored name does not contain.
  for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { name: rest, prefix };
  }
  return undefined;
}

function truncate(s: string, bytes: number): string {
  const b = Buffer.from(s);
  return b.length <= bytes ? s : b.subarray(0, bytes).toString('utf8');
}

/** "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3;
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

interface UstarFields {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function ustar(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  const octal = (value: number, offset: number, length: number) => {
    b.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'latin1');
  };
  b.write(f.name, 0, 100, 'utf8');
  octal(f.mode, 100, 8);
  octal(f.uid, 108, 8);
  octal(f.gid, 116, 8);
  octal(f.size, 124, 12);
  octal(f.mtime, 136, 12);
  b.write(f.typeflag, 156, 1, 'latin1');
  b.write(f.linkname, 157, 100, 'utf8');
  b.write('ustar\u000000', 257, 8, 'latin1');
  octal(f.devmajor, 329, 8);
  octal(f.devminor, 337, 8);
  b.write(f.prefix, 345, 155, 'utf8');
  // The checksum is taken with its own field as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}
