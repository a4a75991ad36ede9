import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import { scanContent } from './content.js';

const key = () => generateSecret('project', randomBytes);
const hasZip = (() => {
  try {
    execFileSync('zip', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const MB = 1024 * 1024;

/** UTF-16 big-endian: Node only writes little-endian. */
const utf16be = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16();
const found = (data: Buffer, label = 'f', limit = MB) => scanContent(data, label, limit);
const where = (data: Buffer, label = 'f', limit = MB) => found(data, label, limit).matches.map((m) => [m.secret, m.inside, m.line, m.column]);

interface Entry {
  name: string;
  content: Buffer | string;
  stored?: boolean;
  /** Sizes and CRC in a data descriptor after the data (flag bit 3), the local header's left 0, as a streaming zipper writes. */
  descriptor?: boolean;
}

/** A minimal zip archive (APPNOTE.TXT): local headers, data, central directory, end record. */
function zip(entries: Entry[]): Buffer {
  return Buffer.concat([...zipParts(entries).locals, zipParts(entries).directory]);
}

/** A zip's local part (each local header, data and descriptor), and its central directory with the end record. */
function zipParts(entries: Entry[]): { locals: Buffer[]; directory: Buffer } {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = Buffer.from(e.content);
    const data = e.stored ? raw : deflateRawSync(raw);
    const name = Buffer.from(e.name);
    const flags = e.descriptor ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(e.stored ? 0 : 8, 8);
    if (!e.descriptor) {
      local.writeUInt32LE(crc32(raw), 14);
      local.writeUInt32LE(data.length, 18);
      local.writeUInt32LE(raw.length, 22);
    }
    local.writeUInt16LE(name.length, 26);
    const descriptor = Buffer.alloc(e.descriptor ? 16 : 0);
    if (e.descriptor) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc32(raw), 4);
      descriptor.writeUInt32LE(data.length, 8);
      descriptor.writeUInt32LE(raw.length, 12);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(e.stored ? 0 : 8, 10);
    central.writeUInt32LE(crc32(raw), 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data, descriptor);
    centrals.push(central, name);
    offset += 30 + name.length + data.length + descriptor.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return { locals, directory: Buffer.concat([directory, end]) };
}

/** The local part of a zip: what a download cut short before its central directory holds. */
const withoutDirectory = (entries: Entry[]): Buffer => Buffer.concat(zipParts(entries).locals);

describe('scanContent: UTF-16', () => {
  it('finds a key in what PowerShell 5 writes (UTF-16LE with a BOM, CRLF), at its line and character column', () => {
    const k = key();
    const file = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`# settings\r\nOPENAI_API_KEY=${k}\r\n`, 'utf16le')]);
    expect(where(file)).toEqual([[k, null, 2, 16]]);
  });

  it('finds keys in UTF-16LE without a BOM and UTF-16BE with and without one', () => {
    const k = key();
    const text = `a\nkey: ${k}\n`;
    expect(where(Buffer.from(text, 'utf16le'))).toEqual([[k, null, 2, 6]]);
    expect(where(utf16be(text))).toEqual([[k, null, 2, 6]]);
    expect(where(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(text)]))).toEqual([[k, null, 2, 6]]);
  });

  it('finds a UTF-16 key at an odd offset inside binary data, and other providers\' keys too', () => {
    const [k, aws] = [key(), 'AKIAIOSFODNN7EXAMPLE'];
    const binary = Buffer.concat([randomBytes(3).fill(7), Buffer.from([0]), Buffer.from(`${k} ${aws}`, 'utf16le'), Buffer.from([0, 0, 1])]);
    expect(found(binary).matches.map((m) => m.secret)).toEqual([k, aws]);
  });

  it('reads ASCII text once: no UTF-16 duplicates', () => {
    const k = key();
    expect(where(Buffer.from(`x=${k}\0\0`))).toEqual([[k, null, 1, 3]]);
  });
});

describe('scanContent: gzip', () => {
  it('finds a key in gzip content, named by the file less .gz (or the name gzip stored)', () => {
    const k = key();
    expect(where(gzipSync(`line\n  ${k}\n`), 'logs/app.log.gz')).toEqual([[k, 'app.log', 2, 3]]);
    // gzip(1) stores the original name (FNAME, RFC 1952 §2.3.1).
    const named = gzipSync(k);
    named[3] |= 0x08;
    const withName = Buffer.concat([named.subarray(0, 10), Buffer.from('orig.env\0'), named.subarray(10)]);
    expect(where(withName, 'x.bin')).toEqual([[k, 'orig.env', 1, 1]]);
  });

  it('finds a key in gzipped UTF-16 and in a gzip inside a gzip', () => {
    const k = key();
    expect(where(gzipSync(Buffer.from(`k=${k}`, 'utf16le')), 'a.gz')).toEqual([[k, 'a', 1, 3]]);
    expect(where(gzipSync(gzipSync(k)), 'b.tgz')).toEqual([[k, 'b.tar!/b.tar.gunzipped', 1, 1]]);
  });

  it('never expands past the limit: a bomb is noted, not scanned, and costs no more than the limit', () => {
    const k = key();
    const bomb = gzipSync(Buffer.concat([Buffer.alloc(20 * MB), Buffer.from(k)]));
    expect(bomb.length).toBeLessThan(100_000);
    const started = performance.now();
    const out = found(bomb, 'bomb.gz', MB);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(out.matches).toEqual([]);
    expect(out.notes).toEqual(['not scanned: bomb.gz: decompressed, it would pass the 1 MB limit (--max-file-size) that all the content of one file shares']);
  });

  it('reads what a truncated gzip holds, and notes one that is damaged', () => {
    const k = key();
    const whole = gzipSync(Buffer.concat([Buffer.from(`${k}\n`), randomBytes(200_000)]));
    expect(where(whole.subarray(0, whole.length - 1000), 'cut.gz')).toEqual([[k, 'cut', 1, 1]]);
    const damaged = Buffer.concat([whole.subarray(0, 10), Buffer.alloc(100, 0xff)]);
    expect(found(damaged, 'bad.gz').notes[0]).toMatch(/^not scanned: the compressed content of bad\.gz \(/);
  });
});

describe('scanContent: zip', () => {
  it('finds keys in deflated and stored entries (a .docx, a .jar), each once, named by its entry', () => {
    const [a, b, c] = [key(), key(), key()];
    const archive = zip([
      { name: 'word/document.xml', content: `<w:t>\n${a}</w:t>` },
      { name: 'META-INF/app.properties', content: `key=${b}`, stored: true },
      { name: 'lib/', content: '' },
      { name: 'notes.txt', content: Buffer.from(`n ${c}`, 'utf16le') },
    ]);
    expect(where(archive, 'report.docx')).toEqual([
      [a, 'word/document.xml', 2, 1],
      [b, 'META-INF/app.properties', 1, 5],
      [c, 'notes.txt', 1, 3],
    ]);
  });

  it('finds keys in entry names (a directory\'s once), located at the name, not in the archive\'s bytes', () => {
    const [file, directory, content] = [key(), key(), key()];
    const archive = zip([
      { name: `cache/${file}.json`, content: '{}' },
      { name: `${directory}/a.txt`, content: 'a' },
      { name: `${directory}/b.txt`, content: `k=${content}`, stored: true },
      { name: `locked/${file}`, content: 'x' },
    ]);
    const out = found(zip([{ name: 'inner.zip', content: archive }]), 'outer.zip');
    expect(out.matches.map((m) => [m.secret, m.inside, m.line, m.column, m.inName ?? false])).toEqual([
      [file, `inner.zip!/cache/${file}.json`, 0, 0, true],
      [directory, `inner.zip!/${directory}`, 0, 0, true],
      [file, `inner.zip!/locked/${file}`, 0, 0, true],
      [content, `inner.zip!/${directory}/b.txt`, 1, 3, false],
    ]);
  });

  it('opens archives inside archives and gzip inside them, to a bounded depth', () => {
    const k = key();
    const inner = zip([{ name: 'conf/.env', content: gzipSync(`K=${k}`) }]);
    expect(where(zip([{ name: 'inner.zip', content: inner }]), 'outer.zip')).toEqual([[k, 'inner.zip!/conf/.env!/.env.gunzipped', 1, 3]]);
    let nested = zip([{ name: 'k.txt', content: k }]);
    for (let i = 0; i < 5; i++) nested = zip([{ name: `level${i}.zip`, content: nested }]);
    const deep = found(nested, 'deep.zip');
    expect(deep.matches).toEqual([]);
    expect(deep.notes).toEqual(['not opened: deep.zip!/level4.zip!/level3.zip!/level2.zip!/level1.zip (archives are opened 4 levels deep at most)']);
  });

  it('shares one limit among all entries: overlapping entries (a zip bomb) cost no more than the limit', () => {
    const k = key();
    const one = zip([{ name: 'a.txt', content: Buffer.concat([Buffer.alloc(200_000), Buffer.from(k)]) }]);
    // 1,000 central directory entries all pointing at the same local entry: 200 MB if each were inflated.
    const dirStart = one.readUInt32LE(one.length - 6);
    const central = one.subarray(dirStart, one.length - 22);
    const many = 1000;
    const end = Buffer.from(one.subarray(one.length - 22));
    end.writeUInt16LE(many, 8);
    end.writeUInt16LE(many, 10);
    end.writeUInt32LE(central.length * many, 12);
    const bomb = Buffer.concat([one.subarray(0, dirStart), ...Array.from({ length: many }, () => central), end]);
    const started = performance.now();
    const out = found(bomb, 'bomb.zip', MB);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(out.matches.length).toBeLessThanOrEqual(5);
    expect(out.notes.join('\n')).toContain('not scanned: the entries of bomb.zip after a.txt (the limit is spent)');
  });

  it('notes entries it cannot read (encrypted, other methods), and reads a damaged archive as bytes', () => {
    const k = key();
    const archive = zip([{ name: 'secret.txt', content: 'x', stored: true }]);
    archive.writeUInt16LE(1, 6); // the local header's flags: encrypted
    archive.writeUInt16LE(1, archive.readUInt32LE(archive.length - 6) + 8); // the central one's
    expect(found(archive, 'locked.zip').notes).toEqual(['not scanned: 1 entry of locked.zip (encrypted, or compressed by a method other than deflate)']);
    const damaged = zip([{ name: 'a.txt', content: k, stored: true }]);
    damaged.fill(0xee, 30 + 5 + k.length); // no central directory, nor any header after the entry
    expect(where(damaged, 'damaged.zip')).toEqual([[k, 'a.txt', 1, 1]]);
    expect(found(damaged, 'damaged.zip').notes).toEqual([
      `not scanned: damaged.zip from byte ${30 + 5 + k.length} (it has no central directory, and no entry header is there)`,
    ]);
  });
});

describe('scanContent: a zip without its central directory (a download or backup cut short)', () => {
  const filler = () => randomBytes(50_000).toString('base64');

  it('reads each entry by its local header: keys in deflated entries are found, named by their entry', () => {
    const [a, b, c] = [key(), key(), key()];
    const whole = withoutDirectory([
      { name: 'conf/a.env', content: `A=${a}\n` },
      { name: 'b.txt', content: `x\nB=${b}`, stored: true },
      { name: 'c.json', content: `{"k": "${c}"}` },
    ]);
    const out = found(whole, 'cut.zip');
    expect(out.matches.map((m) => [m.secret, m.inside, m.line, m.column])).toEqual([
      [a, 'conf/a.env', 1, 3],
      [b, 'b.txt', 2, 3],
      [c, 'c.json', 1, 8],
    ]);
    // Every entry was read, but whatever came after them (more entries?) is not there.
    expect(out.notes).toEqual(['not scanned: whatever followed the end of cut.zip (it has no central directory: cut short)']);
  });

  it('reads an entry cut short as far as it goes, and notes the rest of it', () => {
    const [a, b] = [key(), key()];
    const whole = withoutDirectory([
      { name: 'a.env', content: `A=${a}\n` },
      { name: 'b.log', content: `B=${b}\n${filler()}` },
    ]);
    const cut = whole.subarray(0, whole.length - 20_000);
    const out = found(cut, 'cut.zip');
    expect(out.matches.map((m) => [m.secret, m.inside])).toEqual([
      [a, 'a.env'],
      [b, 'b.log'],
    ]);
    expect(out.notes).toEqual(['not scanned: the rest of cut.zip!/b.log (the archive is cut short)']);
    // Cut in the middle of an entry's header: what came before is read.
    const first = withoutDirectory([{ name: 'a.env', content: `A=${a}` }]);
    const headerCut = withoutDirectory([{ name: 'a.env', content: `A=${a}` }, { name: 'b.log', content: 'x' }]).subarray(0, first.length + 32);
    expect(found(headerCut, 'h.zip').matches.map((m) => [m.secret, m.inside])).toEqual([[a, 'a.env']]);
    expect(found(headerCut, 'h.zip').notes).toEqual([expect.stringMatching(/^not scanned: h\.zip from byte \d+ \(the archive is cut short in an entry's header\)$/)]);
  });

  it('reads entries whose sizes are in a data descriptor (a streaming zipper), deflated and stored', () => {
    const [a, b, c] = [key(), key(), key()];
    const whole = withoutDirectory([
      { name: 'a.env', content: `A=${a}`, descriptor: true },
      { name: 'b.txt', content: `B=${b}`, stored: true, descriptor: true },
      { name: 'c.env', content: `C=${c}\n${filler()}`, descriptor: true },
    ]);
    expect(where(whole, 'stream.zip')).toEqual([
      [a, 'a.env', 1, 3],
      [b, 'b.txt', 1, 3],
      [c, 'c.env', 1, 3],
    ]);
    const cut = found(whole.subarray(0, whole.length - 30_000), 'stream.zip');
    expect(cut.matches.map((m) => [m.secret, m.inside])).toEqual([
      [a, 'a.env'],
      [b, 'b.txt'],
      [c, 'c.env'],
    ]);
    expect(cut.notes).toEqual(['not scanned: the rest of stream.zip!/c.env (the archive is cut short)']);
  });

  it('notes a damaged deflated entry and goes on to the next', () => {
    const b = key();
    const bad = Buffer.alloc(40, 0xff); // not deflate: its first block is of the reserved type 3
    const header = withoutDirectory([{ name: 'a.env', content: '', stored: true }]);
    header.writeUInt16LE(8, 8);
    header.writeUInt32LE(bad.length, 18);
    const damaged = Buffer.concat([header, bad, withoutDirectory([{ name: 'b.env', content: `B=${b}` }])]);
    const out = found(damaged, 'd.zip');
    expect(out.matches.map((m) => [m.secret, m.inside])).toEqual([[b, 'b.env']]);
    expect(out.notes[0]).toMatch(/^not scanned: the compressed content of d\.zip!\/a\.env \(/);
  });

  it('shares the one limit: many entries that each inflate far cost no more than it', () => {
    const k = key();
    const entry = (i: number): Entry => ({ name: `${i}.bin`, content: Buffer.concat([Buffer.alloc(300_000), Buffer.from(k)]), descriptor: i % 2 === 0 });
    const bomb = withoutDirectory(Array.from({ length: 200 }, (_, i) => entry(i)));
    const started = performance.now();
    const out = found(bomb, 'bomb.zip', MB);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(out.matches.length).toBeLessThanOrEqual(4);
    expect(out.notes.join('\n')).toMatch(/not scanned: the entries of bomb\.zip after \d+\.bin \(the limit is spent\)/);
  });

  it.skipIf(!hasZip)('reads what zip(1) wrote, cut before its central directory, streamed (data descriptors) or not', async () => {
    const [a, b] = [key(), key()];
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-zip-'));
    try {
      await writeFile(join(dir, 'a.env'), `A=${a}\n`);
      await writeFile(join(dir, 'b.log'), `${filler()}\nB=${b}\n`);
      const file = execFileSync('zip', ['-q', '-', 'a.env', 'b.log'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }); // a pipe: descriptors
      execFileSync('zip', ['-q', 'f.zip', 'a.env', 'b.log'], { cwd: dir });
      for (const archive of [file, await readFile(join(dir, 'f.zip'))]) {
        const dirAt = archive.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
        expect(dirAt).toBeGreaterThan(0);
        expect(where(archive.subarray(0, dirAt), 'backup.zip')).toEqual([
          [a, 'a.env', 1, 3],
          [b, 'b.log', 2, 3],
        ]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('scanContent: a zip whose central directory misplaces an entry', () => {
  it('finds the entry by its local header, else notes it', () => {
    const [a, b] = [key(), key()];
    const archive = zip([
      { name: 'a.env', content: `A=${a}` },
      { name: 'b.env', content: `B=${b}` },
    ]);
    const dirStart = archive.readUInt32LE(archive.length - 6);
    const secondCentral = dirStart + 46 + 'a.env'.length;
    archive.writeUInt32LE(7, secondCentral + 42); // b.env's local header offset, wrong
    expect(where(archive, 'm.zip')).toEqual([
      [a, 'a.env', 1, 3],
      [b, 'b.env', 1, 3],
    ]);
    // Its local header gone too (renamed): nowhere to be found.
    const localB = archive.indexOf(Buffer.from('b.env'));
    archive.write('x.env', localB);
    const out = found(archive, 'm.zip');
    expect(out.matches.map((m) => [m.secret, m.inside])).toEqual([[a, 'a.env']]);
    expect(out.notes).toEqual(["not scanned: m.zip!/b.env (its data is not where the archive's central directory says)"]);
    // Many misplaced (entries all pointing nowhere): one note for them all.
    archive.writeUInt32LE(7, dirStart + 42);
    archive.write('y.env', archive.indexOf(Buffer.from('a.env')));
    expect(found(archive, 'm.zip').notes).toEqual(["not scanned: 2 entries of m.zip (their data is not where the archive's central directory says)"]);
  });
});

// Found by an attack on the reading of zips without a central directory: each entry whose size only a data descriptor
// gives searched every descriptor after it, so a small crafted file stalled a scan (and `scan --git`, for any blob
// committed) for minutes: 284 KB of 4,000 such entries before 40,000 descriptors that ended none took 25 s.
describe('a zip without a central directory, crafted to be slow', () => {
  /** k local headers (stored, flag bit 3, size 0, name "a"), no central directory, then m descriptors that end none. */
  function crafted(k: number, m: number): Buffer {
    const parts: Buffer[] = [];
    for (let i = 0; i < k; i++) {
      const h = Buffer.alloc(31);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(20, 4);
      h.writeUInt16LE(8, 6);
      h.writeUInt16LE(0, 8);
      h.writeUInt16LE(1, 26);
      h.write('a', 30);
      parts.push(h);
    }
    const sig = Buffer.alloc(4);
    sig.writeUInt32LE(0x08074b50);
    for (let i = 0; i < m; i++) parts.push(sig);
    return Buffer.concat(parts);
  }

  it('is scanned in time linear in its size (25 s before; a bound no busy machine reaches)', () => {
    const data = crafted(4000, 40_000);
    const started = performance.now();
    scanContent(data, 'build.zip', 50 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(5000);
  }, 120_000);

  it('with many unsized entries of another method before a long tail, is scanned in time linear in its size', () => {
    // Each such entry looked for a central header to the end of the bytes (which a cut zip lacks): quadratic.
    const parts: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const h = Buffer.alloc(32);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(20, 4);
      h.writeUInt16LE(8, 6);
      h.writeUInt16LE(99, 8); // a method the scanner does not inflate: its end is looked for
      h.writeUInt16LE(1, 26);
      h.write('a', 30);
      h.write('x', 31);
      parts.push(h);
    }
    parts.push(Buffer.alloc(5 * 1024 * 1024, 0x78));
    const started = performance.now();
    scanContent(Buffer.concat(parts), 'cut.zip', 50 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(2000);
  }, 120_000);

  it('still ends an unsized stored entry at its own descriptor, not at an earlier one of another entry', () => {
    const key = generateSecret('project', randomBytes);
    const entry = (name: string, body: Buffer) => {
      const h = Buffer.alloc(30 + name.length);
      h.writeUInt32LE(0x04034b50, 0);
      h.writeUInt16LE(20, 4);
      h.writeUInt16LE(8, 6);
      h.write(name, 30);
      h.writeUInt16LE(name.length, 26);
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(body.length, 12);
      return Buffer.concat([h, body, d]);
    };
    const data = Buffer.concat([entry('one.txt', Buffer.from('nothing here\n')), entry('two.env', Buffer.from(`TOKEN=${key}\n`))]);
    const found = scanContent(data, 'cut.zip', 1 << 20);
    expect(found.matches.map((m) => [m.secret, m.inside, m.line, m.column])).toEqual([[key, 'two.env', 1, 7]]);
  });
});

