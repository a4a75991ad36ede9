import { constants, gunzipSync, inflateRawSync } from 'node:zlib';
import { secretsInPath } from './names.js';
import { formatBytes } from './size.js';
import { type LocatedMatch, scanText } from './scan-text.js';
import { looksLikeZip, zipEntries } from './zip-entries.js';

// What a file's bytes hold besides their Latin-1 reading, where a key written in ASCII would not be found byte for
// byte: UTF-16 text (what Windows PowerShell 5's `>` writes, with or without a byte-order mark), gzip content, and
// zip archives' entries (.zip, .jar, .docx…). Decompression is bounded: all that one file expands to, at every level,
// counts against one budget (the --max-file-size limit), and archives inside archives are opened 4 levels deep at
// most, so a zip bomb costs at most the budget's worth of inflating.

/** A secret found in a file's content; `inside` names the entry it is in (`a.zip!/dir/b.env`), null for the file. */
export interface ContentMatch extends LocatedMatch {
  inside: string | null;
  /** The secret is in the name `inside` ends with (a zip entry's name, or a directory in it); line and column are 0. */
  inName?: boolean;
}

export interface ContentScan {
  matches: ContentMatch[];
  /** What could not be looked into (over the budget, encrypted, damaged), one line each, naming the file by `label`. */
  notes: string[];
}

const MAX_DEPTH = 4;

// The UTF-16 form of the start of each format patterns.ts knows, its last NUL dropped: a big-endian text holds the
// same bytes one position later, so one search finds both.
const UTF16_NEEDLES = ['sk-', 'AKIA', 'ASIA', 'ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'].map((s) =>
  Buffer.from(s, 'utf16le').subarray(0, s.length * 2 - 1),
);

interface Budget {
  left: number;
  readonly limit: number;
}

/**
 * Finds the secrets in a file's (or blob's) bytes: as Latin-1, as UTF-16, and inside gzip and zip content. `label` names
 * it in notes; `path` is its path, whose name less `.gz` names gzip content that does not name itself.
 */
export function scanContent(data: Buffer, label: string, maxExpandedBytes: number, path = label): ContentScan {
  const out: ContentScan = { matches: [], notes: [] };
  scanLayer(data, null, { label, path }, 0, { left: maxExpandedBytes, limit: maxExpandedBytes }, out);
  return out;
}

interface Outer {
  label: string;
  path: string;
}

function scanLayer(data: Buffer, inside: string | null, outer: Outer, depth: number, budget: Budget, out: ContentScan): void {
  const { label } = outer;
  const where = inside === null ? label : `${label}!/${inside}`;
  let raw = scanText(data.toString('latin1'));
  const isGzip = data.length >= 18 && data[0] === 0x1f && data[1] === 0x8b && data[2] === 8;
  if (depth === MAX_DEPTH && (isGzip || looksLikeZip(data))) out.notes.push(`not opened: ${where} (archives are opened ${MAX_DEPTH} levels deep at most)`);
  const zip = depth < MAX_DEPTH && looksLikeZip(data) ? scanZip(data, raw, inside, outer, depth, budget, out) : null;
  if (zip) raw = zip;
  // An archive that could be read was scanned entry by entry, each as UTF-16 too.
  else raw.push(...scanUtf16(data));
  if (depth < MAX_DEPTH && isGzip) {
    const expanded = expand(() => gunzipSync(data, { maxOutputLength: Math.max(1, budget.left), finishFlush: constants.Z_SYNC_FLUSH }), budget, where, out);
    if (expanded) {
      const before = out.matches.length;
      scanLayer(expanded, join(inside, gzipName(data, inside ?? outer.path)), outer, depth + 1, budget, out);
      // Incompressible data is kept as it is (deflate's stored blocks): a key there is reported once, as content.
      const inner = new Set(out.matches.slice(before).map((m) => m.secret));
      raw = raw.filter((m) => !inner.has(m.secret));
    }
  }
  for (const m of raw) out.matches.push({ ...m, inside });
}

/** Matches in the text read as UTF-16, little- and big-endian, at either byte alignment (a BOM is skipped). */
function scanUtf16(data: Buffer): LocatedMatch[] {
  // Text without a NUL byte holds no ASCII character in UTF-16: the common case costs one search.
  if (data.indexOf(0) === -1 || !UTF16_NEEDLES.some((n) => data.includes(n))) return [];
  const le = data[0] === 0xff && data[1] === 0xfe ? 2 : 0;
  const be = data[0] === 0xfe && data[1] === 0xff ? 3 : 1;
  return [...scanText(data.subarray(le).toString('utf16le')), ...scanText(data.subarray(be).toString('utf16le'))];
}

/**
 * Scans each entry of a zip archive as a layer of its own; returns the archive's Latin-1 matches less those inside
 * a stored entry, which its entry reports under its name (null: no central directory, not read as an archive).
 */
function scanZip(data: Buffer, raw: LocatedMatch[], inside: string | null, outer: Outer, depth: number, budget: Budget, out: ContentScan): LocatedMatch[] | null {
  const entries = zipEntries(data);
  if (!entries) return null;
  const where = inside === null ? outer.label : `${outer.label}!/${inside}`;
  const stored: Array<[number, number]> = [];
  let unread = 0;
  // Entry names are text too (a review found keys there printed in full): each is scanned, and a key in a directory's
  // name is reported once for the directory. The archive's own bytes hold the names as well; those matches are dropped
  // below, the name says where the key is.
  const named = new Set<string>();
  const inNames = new Set<string>();
  for (const entry of entries) {
    for (const { match, location } of secretsInPath(entry.name)) {
      inNames.add(match.secret);
      const at = `${location}\0${match.secret}`;
      if (named.has(at)) continue;
      named.add(at);
      out.matches.push({ ...match, line: 0, column: 0, inside: join(inside, location), inName: true });
    }
  }
  for (const entry of entries) {
    const bytes = data.subarray(entry.start, entry.start + entry.compressedSize);
    if (entry.flags & 1 || (entry.method !== 0 && entry.method !== 8)) {
      unread++;
      continue;
    }
    let content: Buffer | null = bytes;
    if (entry.method === 0) {
      stored.push([entry.start, entry.start + entry.compressedSize]);
      budget.left -= Math.min(budget.left, bytes.length);
    } else {
      const entryWhere = `${where}!/${entry.name}`;
      content = expand(() => inflateRawSync(bytes, { maxOutputLength: Math.max(1, budget.left), finishFlush: constants.Z_SYNC_FLUSH }), budget, entryWhere, out);
      if (!content && budget.left <= 0) {
        out.notes.push(`not scanned: the entries of ${where} after ${entry.name} (the limit is spent)`);
        break;
      }
    }
    if (content) scanLayer(content, join(inside, entry.name), outer, depth + 1, budget, out);
  }
  if (unread > 0) out.notes.push(`not scanned: ${unread} ${unread === 1 ? 'entry' : 'entries'} of ${where} (encrypted, or compressed by a method other than deflate)`);
  return raw.filter((m) => !inNames.has(m.secret) && !stored.some(([from, to]) => m.index >= from && m.index < to));
}

/** Runs one bounded decompression; on running over the budget or on damaged data, notes it and returns null. */
function expand(run: () => Buffer, budget: Budget, where: string, out: ContentScan): Buffer | null {
  try {
    const expanded = run();
    budget.left -= expanded.length;
    return expanded;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      budget.left = 0;
      out.notes.push(`not scanned: ${where}: decompressed, it would pass the ${formatBytes(budget.limit)} limit (--max-file-size) that all the content of one file shares`);
    } else {
      out.notes.push(`not scanned: the compressed content of ${where} (${err instanceof Error ? err.message : String(err)})`);
    }
    return null;
  }
}

/** The name gzip stored for its content (FNAME, RFC 1952 §2.3.1), else the file's name less `.gz` (`.tgz` → `.tar`). */
function gzipName(data: Buffer, outer: string): string {
  const flags = data[3];
  if (flags & 0x08) {
    let at = 10;
    if (flags & 0x04) at += 2 + data.readUInt16LE(10);
    const end = data.indexOf(0, at);
    if (end > at && end - at <= 255) return basename(data.subarray(at, end).toString('latin1'));
  }
  const base = basename(outer);
  if (/\.tgz$/i.test(base)) return base.replace(/\.tgz$/i, '.tar');
  return /\.gz$/i.test(base) && base.length > 3 ? base.slice(0, -3) : `${base}.gunzipped`;
}

const basename = (path: string): string => path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
const join = (inside: string | null, name: string): string => (inside === null ? name : `${inside}!/${name}`);
