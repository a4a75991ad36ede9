// Reads a zip archive's central directory (PKWARE APPNOTE.TXT §4.3.12-16, with the ZIP64 records of §4.3.14-15
// and the extra field of §4.5.3) to find each entry's data. Pure and throw-free: a truncated or malformed archive
// yields the entries read before the damage. Inflating is the caller's (content.ts), under its own size budget.
// An archive without a central directory (a download or backup cut short, before the directory at its end) is read by
// its local file headers instead (§4.3.7-9), one after the other from the start: content.ts walks them with
// localHeaderAt and nextHeaderAfter, inflating an entry whose size only its data descriptor says to find its end.

/** One file in an archive, located in the archive's bytes. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; others (bzip2, LZMA, zstd…) are not read. */
  method: number;
  /** Bit 0: encrypted. */
  flags: number;
  /** The entry's stored bytes: `data.subarray(start, start + compressedSize)`. */
  start: number;
  compressedSize: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;
const signature = (sig: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(sig);
  return b;
};
const LOCAL_BYTES = signature(LOCAL);
const CENTRAL_BYTES = signature(CENTRAL);
const DESCRIPTOR_BYTES = signature(0x08074b50);

/** Whether the bytes start as a zip archive does (a local file header, or the end record of an empty archive). */
export function looksLikeZip(data: Buffer): boolean {
  if (data.length < 22) return false;
  const sig = data.readUInt32LE(0);
  return sig === LOCAL || sig === EOCD;
}

/** What the central directory lists: its entries (directories left out) and the names of those whose data is nowhere. */
export interface ZipListing {
  entries: ZipEntry[];
  /** Entries whose local header is neither where the directory says nor found under their name elsewhere. */
  misplaced: string[];
}

/** The entries of a zip archive by its central directory, or null when no central directory can be found. */
export function zipEntries(data: Buffer): ZipListing | null {
  const directory = findCentralDirectory(data);
  if (!directory) return null;
  const out: ZipEntry[] = [];
  const misplaced: string[] = [];
  let byName: Map<string, number[]> | null = null;
  let at = directory.offset;
  for (let i = 0; i < directory.entries && at + 46 <= data.length; i++) {
    if (data.readUInt32LE(at) !== CENTRAL) break;
    const flags = data.readUInt16LE(at + 8);
    const method = data.readUInt16LE(at + 10);
    let compressedSize = data.readUInt32LE(at + 20);
    let uncompressedSize = data.readUInt32LE(at + 24);
    const nameLength = data.readUInt16LE(at + 28);
    const extraLength = data.readUInt16LE(at + 30);
    const commentLength = data.readUInt16LE(at + 32);
    let localOffset = data.readUInt32LE(at + 42);
    const nameEnd = at + 46 + nameLength;
    if (nameEnd + extraLength > data.length) break;
    const name = data.subarray(at + 46, nameEnd).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // ZIP64: a field saturated at 0xFFFFFFFF is in the 0x0001 extra field, in this order (APPNOTE §4.5.3).
    const zip64 = extraField(data, nameEnd, extraLength, 0x0001);
    if (zip64) {
      let f = zip64.start;
      const next = (): number | null => {
        if (f + 8 > zip64.end) return null;
        const v = Number(data.readBigUInt64LE(f));
        f += 8;
        return v;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = next() ?? uncompressedSize;
      if (compressedSize === 0xffffffff) compressedSize = next() ?? compressedSize;
      if (localOffset === 0xffffffff) localOffset = next() ?? localOffset;
    }
    at = nameEnd + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    // The data follows the local header, whose name and extra field may differ in length from the central ones. A
    // header not where the directory says (its offsets shifted, or wrong) is looked for under the entry's name.
    let local = localHeaderAt(data, localOffset);
    if (!local || local === 'cut') {
      byName ??= localHeadersByName(data);
      const candidates = byName.get(name) ?? [];
      const found = candidates.shift();
      local = found === undefined ? null : localHeaderAt(data, found);
    }
    if (!local || local === 'cut') {
      misplaced.push(name);
      continue;
    }
    out.push({ name, method, flags, start: local.start, compressedSize: Math.min(compressedSize, data.length - local.start) });
  }
  return { entries: out, misplaced };
}

/** Every local file header in the bytes, by the name it gives, in order. */
function localHeadersByName(data: Buffer): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let at = data.indexOf(LOCAL_BYTES); at !== -1; at = data.indexOf(LOCAL_BYTES, at + 4)) {
    const local = localHeaderAt(data, at);
    if (!local || local === 'cut') continue;
    const list = out.get(local.name) ?? [];
    list.push(at);
    out.set(local.name, list);
  }
  return out;
}

/** An entry as its local file header gives it (APPNOTE §4.3.7). */
export interface LocalEntry {
  name: string;
  method: number;
  flags: number;
  /** Where its data starts. */
  start: number;
  /** The size of its stored bytes; null when only a data descriptor after them says (flag bit 3, §4.3.9). */
  compressedSize: number | null;
}

/** The local file header at `at`: null when there is none, `cut` when the bytes end inside it. */
export function localHeaderAt(data: Buffer, at: number): LocalEntry | 'cut' | null {
  if (at + 4 > data.length || data.readUInt32LE(at) !== LOCAL) return null;
  if (at + 30 > data.length) return 'cut';
  const flags = data.readUInt16LE(at + 6);
  const method = data.readUInt16LE(at + 8);
  let compressedSize = data.readUInt32LE(at + 18);
  const uncompressedSize = data.readUInt32LE(at + 22);
  const nameEnd = at + 30 + data.readUInt16LE(at + 26);
  const extraLength = data.readUInt16LE(at + 28);
  const start = nameEnd + extraLength;
  if (start > data.length) return 'cut';
  const name = data.subarray(at + 30, nameEnd).toString(flags & 0x800 ? 'utf8' : 'latin1');
  // ZIP64: a local header's 0x0001 extra field holds both sizes, the uncompressed first (APPNOTE §4.5.3).
  if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff) {
    const zip64 = extraField(data, nameEnd, extraLength, 0x0001);
    if (zip64 && zip64.start + 16 <= zip64.end) compressedSize = Number(data.readBigUInt64LE(zip64.start + 8));
  }
  // With a data descriptor the header's sizes are 0 (§4.4.4); some zippers write them all the same.
  return { name, method, flags, start, compressedSize: flags & 8 && compressedSize === 0 ? null : compressedSize };
}

/**
 * Where the stored bytes of an entry whose size is unknown end: at its data descriptor (its signature, then a compressed
 * size equal to the bytes before it), else at the next header, else at the end of the bytes. For data that is not
 * inflated (stored, encrypted, another method); deflated data says where it ends itself.
 */
export function unsizedDataEnd(data: Buffer, start: number): number {
  const at = descriptorsOf(data).get(start);
  if (at !== undefined) return at;
  // A central header is looked for before the next entry's only: searched to the end for each entry, a zip without one
  // (cut short) made the walk quadratic (found by review: 4,000 tiny entries before 5 MB took a second).
  const local = data.indexOf(LOCAL_BYTES, start);
  const stop = local === -1 ? data.length : local;
  const central = data.subarray(start, stop).indexOf(CENTRAL_BYTES);
  return central === -1 ? stop : start + central;
}

/** Each archive's data descriptors, by the start of the data each would end (descriptorsOf). */
const descriptorIndex = new WeakMap<Buffer, Map<number, number>>();

/**
 * The data descriptors in `data`, found in one pass: the start of the data each one's compressed size implies (its
 * place less that size) → the first descriptor implying it. Found by an attack on the reading of zips without a
 * central directory: each unsized entry searched every descriptor after it, and a 284 KB file of 4,000 such entries
 * before 40,000 descriptors that matched none took 25 s to scan (quadratic); now each entry is one look-up.
 */
function descriptorsOf(data: Buffer): Map<number, number> {
  let index = descriptorIndex.get(data);
  if (index) return index;
  index = new Map();
  for (let at = data.indexOf(DESCRIPTOR_BYTES); at !== -1; at = data.indexOf(DESCRIPTOR_BYTES, at + 1)) {
    if (at + 16 > data.length) break;
    const start = at - data.readUInt32LE(at + 8);
    if (start >= 0 && !index.has(start)) index.set(start, at);
  }
  descriptorIndex.set(data, index);
  return index;
}

/**
 * Where the next header is after an entry's data, which ends at `end`: there, or past the entry's data descriptor (flag
 * bit 3: 12 bytes, or 20 with ZIP64 sizes, after an optional signature). The end of the bytes counts as a header.
 */
export function nextHeaderAfter(data: Buffer, end: number, flags: number): number {
  if (!(flags & 8)) return end;
  for (const skip of [16, 12, 24, 20]) if (end + skip === data.length || isZipRecord(data, end + skip)) return end + skip;
  // The bytes end inside the descriptor.
  return end + 12 > data.length ? data.length : end;
}

/** Whether a zip header or record starts at `at`: a local or central header, or an end record. */
export function isZipRecord(data: Buffer, at: number): boolean {
  if (at + 4 > data.length) return false;
  const sig = data.readUInt32LE(at);
  return sig === LOCAL || sig === CENTRAL || sig === EOCD || sig === ZIP64_EOCD || sig === ZIP64_LOCATOR;
}

function findCentralDirectory(data: Buffer): { offset: number; entries: number } | null {
  // The end record is the last 22 bytes but for a comment of up to 64 KB after it.
  const lowest = Math.max(0, data.length - 22 - MAX_COMMENT);
  for (let at = data.length - 22; at >= lowest; at--) {
    if (data.readUInt32LE(at) !== EOCD) continue;
    let entries = data.readUInt16LE(at + 10);
    let offset = data.readUInt32LE(at + 16);
    if ((entries === 0xffff || offset === 0xffffffff) && at >= 20 && data.readUInt32LE(at - 20) === ZIP64_LOCATOR) {
      const record = Number(data.readBigUInt64LE(at - 20 + 8));
      if (record + 56 <= data.length && data.readUInt32LE(record) === ZIP64_EOCD) {
        entries = Number(data.readBigUInt64LE(record + 32));
        offset = Number(data.readBigUInt64LE(record + 48));
      }
    }
    if (offset < data.length) return { offset, entries };
  }
  return null;
}

function extraField(data: Buffer, start: number, length: number, id: number): { start: number; end: number } | null {
  const end = start + length;
  for (let at = start; at + 4 <= end; ) {
    const size = data.readUInt16LE(at + 2);
    if (data.readUInt16LE(at) === id) return { start: at + 4, end: Math.min(at + 4 + size, end) };
    at += 4 + size;
  }
  return null;
}
