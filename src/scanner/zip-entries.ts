// Reads a zip archive's central directory (PKWARE APPNOTE.TXT §4.3.12-16, with the ZIP64 records of §4.3.14-15
// and the extra field of §4.5.3) to find each entry's data. Pure and throw-free: a truncated or malformed archive
// yields the entries read before the damage. Inflating is the caller's (content.ts), under its own size budget.

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

/** Whether the bytes start as a zip archive does (a local file header, or the end record of an empty archive). */
export function looksLikeZip(data: Buffer): boolean {
  if (data.length < 22) return false;
  const sig = data.readUInt32LE(0);
  return sig === LOCAL || sig === EOCD;
}

/** The entries of a zip archive (directories left out), or null when no central directory can be found. */
export function zipEntries(data: Buffer): ZipEntry[] | null {
  const directory = findCentralDirectory(data);
  if (!directory) return null;
  const out: ZipEntry[] = [];
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
    // The data follows the local header, whose name and extra field may differ in length from the central ones.
    if (localOffset + 30 > data.length || data.readUInt32LE(localOffset) !== LOCAL) continue;
    const start = localOffset + 30 + data.readUInt16LE(localOffset + 26) + data.readUInt16LE(localOffset + 28);
    if (start > data.length) continue;
    out.push({ name, method, flags, start, compressedSize: Math.min(compressedSize, data.length - start) });
  }
  return out;
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
