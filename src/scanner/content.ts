import { constants, gunzipSync, inflateRawSync } from 'node:zlib';
import { secretsInPath } from './names.js';
import { formatBytes } from './size.js';
import { type LocatedMatch, scanText } from './scan-text.js';
import { isZipRecord, type LocalEntry, localHeaderAt, looksLikeZip, nextHeaderAfter, unsizedDataEnd, zipEntries } from './zip-entries.js';

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
  // An archive is scanned entry by entry, each as UTF-16 too.
  if (depth < MAX_DEPTH && looksLikeZip(data)) raw = scanZip(data, raw, inside, outer, depth, budget, out);
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

/** What scanning one zip archive keeps track of, entry after entry. */
interface ZipScan {
  data: Buffer;
  inside: string | null;
  outer: Outer;
  depth: number;
  budget: Budget;
  out: ContentScan;
  /** The archive, as notes name it. */
  where: string;
  /** The byte ranges of stored entries: the archive's own matches there are their entry's. */
  stored: Array<[number, number]>;
  /** Entries not read (encrypted, or compressed by another method than deflate). */
  unread: number;
  /** Keys found in entry names, and which name (or directory) each was reported at. */
  inNames: Set<string>;
  named: Set<string>;
  /** An entry was found cut short (and noted). */
  cut: boolean;
}

/**
 * Scans each entry of a zip archive as a layer of its own; returns the archive's Latin-1 matches less those inside a
 * stored entry, which its entry reports under its name. The entries are those of the central directory; an archive
 * without one (cut short before it) is read by its entries' local headers, each as far as it goes.
 */
function scanZip(data: Buffer, raw: LocatedMatch[], inside: string | null, outer: Outer, depth: number, budget: Budget, out: ContentScan): LocatedMatch[] {
  const where = inside === null ? outer.label : `${outer.label}!/${inside}`;
  const z: ZipScan = { data, inside, outer, depth, budget, out, where, stored: [], unread: 0, inNames: new Set(), named: new Set(), cut: false };
  const listing = zipEntries(data);
  if (listing) {
    for (const entry of listing.entries) scanEntryName(z, entry.name);
    for (const name of listing.misplaced) scanEntryName(z, name);
    for (const entry of listing.entries) if (readEntry(z, entry) === null) break;
    const [first, ...more] = listing.misplaced;
    if (first !== undefined && more.length === 0) out.notes.push(`not scanned: ${where}!/${first} (its data is not where the archive's central directory says)`);
    else if (more.length > 0) out.notes.push(`not scanned: ${listing.misplaced.length} entries of ${where} (their data is not where the archive's central directory says)`);
  } else {
    walkLocalHeaders(z);
  }
  if (z.unread > 0) out.notes.push(`not scanned: ${z.unread} ${z.unread === 1 ? 'entry' : 'entries'} of ${where} (encrypted, or compressed by a method other than deflate)`);
  return raw.filter((m) => !z.inNames.has(m.secret) && !z.stored.some(([from, to]) => m.index >= from && m.index < to));
}

/**
 * Entry names are text too (a review found keys there printed in full): each is scanned, and a key in a directory's
 * name is reported once for the directory. The archive's own bytes hold the names as well; those matches are dropped
 * (scanZip), the name says where the key is.
 */
function scanEntryName(z: ZipScan, name: string): void {
  for (const { match, location } of secretsInPath(name)) {
    z.inNames.add(match.secret);
    const at = `${location}\0${match.secret}`;
    if (z.named.has(at)) continue;
    z.named.add(at);
    z.out.matches.push({ ...match, line: 0, column: 0, inside: join(z.inside, location), inName: true });
  }
}

/**
 * Reads the entries of an archive without a central directory by their local headers, from its start, one after the
 * other, until the bytes end or hold no header; what cannot be read is noted.
 */
function walkLocalHeaders(z: ZipScan): void {
  const { data, out, where } = z;
  for (let at = 0; ; ) {
    const entry = localHeaderAt(data, at);
    if (entry === 'cut') {
      out.notes.push(`not scanned: ${where} from byte ${at} (the archive is cut short in an entry's header)`);
      return;
    }
    if (entry === null) {
      // A central directory without its end record (or a ZIP64 record) follows the last entry: nothing was missed.
      if (at >= data.length && !z.cut) out.notes.push(`not scanned: whatever followed the end of ${where} (it has no central directory: cut short)`);
      else if (at < data.length && !isZipRecord(data, at)) out.notes.push(`not scanned: ${where} from byte ${at} (it has no central directory, and no entry header is there)`);
      return;
    }
    scanEntryName(z, entry.name);
    const end = readEntry(z, entry);
    if (end === null) return;
    at = nextHeaderAfter(data, end, entry.flags);
  }
}

/**
 * Reads one entry's data and scans it. Returns where its data ends (deflated data whose size is unknown ends where its
 * deflate stream does), or null when the limit is spent: nothing after it is read.
 */
function readEntry(z: ZipScan, entry: LocalEntry): number | null {
  const { data, budget, out } = z;
  const entryWhere = `${z.where}!/${entry.name}`;
  const sized = entry.compressedSize === null ? null : entry.start + entry.compressedSize;
  const noteCut = () => {
    z.cut = true;
    out.notes.push(`not scanned: the rest of ${entryWhere} (the archive is cut short)`);
  };
  if (entry.flags & 1 || (entry.method !== 0 && entry.method !== 8)) {
    z.unread++;
    return sized === null ? unsizedDataEnd(data, entry.start) : Math.min(sized, data.length);
  }
  let content: Buffer | null;
  let end: number;
  if (entry.method === 0) {
    end = sized === null ? unsizedDataEnd(data, entry.start) : Math.min(sized, data.length);
    content = data.subarray(entry.start, end);
    z.stored.push([entry.start, end]);
    budget.left -= Math.min(budget.left, content.length);
    // Its end not found (no descriptor, no header after it), or past the bytes: the rest is not there.
    if ((sized === null && end === data.length) || (sized !== null && sized > data.length)) noteCut();
  } else {
    const inflated = inflateEntry(data.subarray(entry.start, sized ?? data.length), budget, entryWhere, out);
    if (!inflated) {
      if (budget.left <= 0) {
        out.notes.push(`not scanned: the entries of ${z.where} after ${entry.name} (the limit is spent)`);
        return null;
      }
      // Damaged (noted): the next header is where its size says, else looked for.
      content = null;
      end = sized === null ? unsizedDataEnd(data, entry.start) : Math.min(sized, data.length);
    } else {
      content = inflated.content;
      end = sized === null ? entry.start + inflated.used : Math.min(sized, data.length);
      if (inflated.cut) noteCut();
    }
  }
  if (content && !entry.name.endsWith('/')) scanLayer(content, join(z.inside, entry.name), z.outer, z.depth + 1, z.budget, out);
  return end;
}

/**
 * Inflates an entry's deflated bytes, within the limit: its content, how many bytes its deflate stream took, and
 * whether the bytes end before the stream does (then inflated as far as they go, as a truncated gzip is). Null when
 * damaged or over the limit (noted by expand).
 */
function inflateEntry(bytes: Buffer, budget: Budget, where: string, out: ContentScan): { content: Buffer; used: number; cut: boolean } | null {
  const options = { maxOutputLength: Math.max(1, budget.left), info: true };
  let cut = false;
  let used = 0;
  const inflate = (finishFlush?: number): Buffer => {
    // With `info`, zlib answers the engine too: its bytesWritten is the input the stream took.
    const result = inflateRawSync(bytes, { ...options, finishFlush }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    used = result.engine.bytesWritten;
    return result.buffer;
  };
  const content = expand(
    () => {
      try {
        return inflate();
      } catch (err) {
        // "unexpected end of file": the bytes end before the stream. Read again, as far as they go.
        if ((err as { code?: string }).code !== 'Z_BUF_ERROR') throw err;
        cut = true;
        return inflate(constants.Z_SYNC_FLUSH);
      }
    },
    budget,
    where,
    out,
  );
  return content ? { content, used, cut } : null;
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
