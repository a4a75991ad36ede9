import { describe, expect, it } from 'vitest';
import { multipartBoundary, multipartFields, readMultipart } from './multipart.js';

const CT = 'multipart/form-data; boundary=XyZ';
const body = (...parts: string[]) => Buffer.from(`${parts.join('')}`, 'latin1');
const part = (headers: string, value: string) => `--XyZ\r\n${headers}\r\n\r\n${value}\r\n`;
const END = '--XyZ--\r\n';
const field = (name: string) => `Content-Disposition: form-data; name="${name}"`;
const text = (b: Buffer, f: { start: number; end: number }) => b.toString('latin1', f.start, f.end);

describe('multipartBoundary', () => {
  it('reads quoted, unquoted and upper-case boundary parameters and refuses bad ones', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(multipartBoundary('multipart/form-data;BOUNDARY="a b:c"')).toBe('a b:c');
    expect(multipartBoundary('multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxk')).toBe('----WebKitFormBoundary7MA4YWxk');
    expect(multipartBoundary('multipart/form-data')).toBeNull();
    expect(multipartBoundary('multipart/form-data; boundary=a; boundary=b')).toBeNull();
    expect(multipartBoundary('multipart/form-data; boundary=')).toBeNull();
    expect(multipartBoundary(`multipart/form-data; boundary=${'a'.repeat(71)}`)).toBeNull();
    expect(multipartBoundary('multipart/form-data; boundary="ends in space "')).toBeNull();
    expect(multipartBoundary('multipart/form-data; boundary="a\\"b"')).toBeNull();
  });
});

describe('multipartFields', () => {
  it('finds a field by quoted or unquoted name, whatever the header case, with the offsets of its value', () => {
    const b = body(
      part('Content-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav', 'RIFF....model....'),
      part('CONTENT-DISPOSITION: FORM-DATA; NAME=model', 'whisper-1'),
      part('content-disposition: form-data; name="language"', 'en'),
      END,
    );
    const found = multipartFields(b, CT, 'model');
    expect(found.ok).toBe(true);
    if (!found.ok) return;
    expect(found.fields).toHaveLength(1);
    expect(text(b, found.fields[0])).toBe('whisper-1');
    expect(found.fields[0]).toMatchObject({ filename: null, contentType: null, transferEncoding: null });
  });

  it('returns every repeated field, a filename, and an empty value', () => {
    const b = body(part('Content-Disposition: form-data; name="model"', 'a'), part('Content-Disposition: form-data; name="model"; filename="m.txt"', ''), END);
    const found = multipartFields(b, CT, 'model');
    if (!found.ok) throw new Error(found.why);
    expect(found.fields.map((f) => [text(b, f), f.filename])).toEqual([
      ['a', null],
      ['', 'm.txt'],
    ]);
  });

  it('reads a preamble, an epilogue, transport padding and the _charset_ field', () => {
    const b = body('This is a preamble.\r\n', `--XyZ  \r\nContent-Disposition: form-data; name="_charset_"\r\n\r\niso-8859-1\r\n`, part('Content-Disposition: form-data; name=model', 'x'), END, 'epilogue');
    const found = multipartFields(b, CT, 'model');
    if (!found.ok) throw new Error(found.why);
    expect(found.charset).toBe('iso-8859-1');
    expect(text(b, found.fields[0])).toBe('x');
  });

  it('refuses bodies other readers may split or name differently', () => {
    const cases: Array<[string, Buffer]> = [
      ['bare LF line ends', Buffer.from('--XyZ\nContent-Disposition: form-data; name="model"\n\ngpt-4\n--XyZ--\n')],
      ['a model part hidden in the preamble', body('Content-Disposition: form-data; name="model"\r\n\r\ngpt-4\r\n', part('Content-Disposition: form-data; name="model"', 'a'), END)],
      ['a model part after the close delimiter', body(part('Content-Disposition: form-data; name="model"', 'a'), END, part('Content-Disposition: form-data; name="model"', 'gpt-4'))],
      ['a model part behind a bare-LF boundary inside a file', body(part('Content-Disposition: form-data; name="file"; filename="x"', '\n--XyZ\nContent-Disposition: form-data; name="model"\n\ngpt-4'), END)],
      ['another case', body(part('Content-Disposition: form-data; name="Model"', 'gpt-4'), END)],
      ['bracket notation', body(part('Content-Disposition: form-data; name="model[]"', 'gpt-4'), END)],
      ['RFC 8187 name*', body(part("Content-Disposition: form-data; name*=UTF-8''model", 'gpt-4'), END)],
      ['name and name*', body(part('Content-Disposition: form-data; name="model"; name*=UTF-8\'\'prompt', 'a'), END)],
      ['a percent-encoded name', body(part('Content-Disposition: form-data; name="mod%65l"', 'gpt-4'), END)],
      ['an escaped name', body(part('Content-Disposition: form-data; name="mod\\el"', 'gpt-4'), END)],
      ['a padded name', body(part('Content-Disposition: form-data; name="model "', 'gpt-4'), END)],
      ['a folded header', body('--XyZ\r\nContent-Disposition: form-data;\r\n name="model"\r\n\r\ngpt-4\r\n', END)],
      ['a repeated name parameter', body(part('Content-Disposition: form-data; name="prompt"; name="model"', 'gpt-4'), END)],
      ['a non form-data disposition', body(part('Content-Disposition: attachment; name="model"', 'gpt-4'), END)],
      ['no close delimiter', body(part('Content-Disposition: form-data; name="model"', 'a'))],
      ['a boundary line going on', body(part('Content-Disposition: form-data; name="model"', 'a'), '--XyZabc\r\n', END)],
      ['no boundary at all', Buffer.from('{"model":"gpt-4"}')],
      ['a part without the end of its headers', body('--XyZ\r\nContent-Disposition: form-data; name="model"\r\n--XyZ--\r\n')],
    ];
    for (const [why, b] of cases) expect(multipartFields(b, CT, 'model').ok, why).toBe(false);
  });

  it('reads a group of names as one field: a file field and its array spelling (image, image[])', () => {
    const file = (name: string, f: string) => part(`Content-Disposition: form-data; name="${name}"; filename="${f}"\r\nContent-Type: image/png`, 'PNG');
    const IMAGE = ['image', 'image[]'];
    // What the openai SDKs send: `image[]` for an array (of one too), `image` for one file; both together as well.
    for (const names of [['image[]'], ['image[]', 'image[]'], ['image'], ['image', 'image[]']]) {
      const b = body(part(field('model'), 'gpt-image-1'), ...names.map((n, i) => file(n, `${i}.png`)), part(field('prompt'), 'a hat'), END);
      const found = multipartFields(b, CT, IMAGE);
      if (!found.ok) throw new Error(found.why);
      expect(found.fields.map((f) => f.filename)).toEqual(names.map((_, i) => `${i}.png`));
      // The text fields beside them are read as strictly as ever.
      expect(multipartFields(b, CT, 'model').ok).toBe(true);
    }
    // Alone, either name still finds the other ambiguous.
    expect(multipartFields(body(file('image[]', 'a.png'), END), CT, 'image').ok).toBe(false);
    // Any other spelling some reader may take for an image is still refused: the count would fall short of the upstream's.
    const others = ['Image[]', 'IMAGE', 'image[0]', 'image[1]', 'image[file]', 'image.0', 'image[] ', 'image%5B%5D', 'images[image]'];
    for (const other of others) {
      expect(multipartFields(body(file('image[]', 'a.png'), file(other, 'b.png'), END), CT, IMAGE).ok, other).toBe(false);
    }
    expect(multipartFields(body(part(`Content-Disposition: form-data; name="image[]"; name*=UTF-8''image; filename="a.png"`, 'PNG'), END), CT, IMAGE).ok).toBe(false);
    expect(multipartFields(body(part('Content-Disposition: form-data; name="image\\[]"; filename="a.png"', 'PNG'), END), CT, IMAGE).ok).toBe(false);
    // A text field's array spelling is no alias: `n[]` or `model[]` beside them is refused for that field.
    expect(multipartFields(body(part(field('n[]'), '1'), part(field('n'), '10'), END), CT, 'n').ok).toBe(false);
    expect(multipartFields(body(file('image[]', 'a.png'), part(field('model[]'), 'dall-e-2'), part(field('model'), 'gpt-image-1'), END), CT, 'model').ok).toBe(false);
  });

  it('bounds the work of a body: parts, header lines and bytes, disposition lines', () => {
    const many = Buffer.concat([...Array.from({ length: 1001 }, () => Buffer.from(part(field('a'), 'x'))), Buffer.from(END)]);
    expect(multipartFields(many, CT, 'model')).toEqual({ ok: false, why: 'it has more than 1000 parts' });
    const fewer = Buffer.concat([...Array.from({ length: 999 }, () => Buffer.from(part(field('a'), 'x'))), Buffer.from(part(field('model'), 'm')), Buffer.from(END)]);
    expect(multipartFields(fewer, CT, 'model').ok).toBe(true);
    expect(multipartFields(body(part(`${field('model')}\r\n${'X-A: b\r\n'.repeat(64)}`, 'm'), END), CT, 'model').ok).toBe(false);
    expect(multipartFields(body(part(`${field('model')}\r\nX-A: ${'b'.repeat(17 * 1024)}`, 'm'), END), CT, 'model').ok).toBe(false);
    const lines = body(part('Content-Disposition: form-data; name="file"; filename="x"', 'content-disposition: form-data; name="x"\n'.repeat(10_001)), part(field('model'), 'm'), END);
    expect(multipartFields(lines, CT, 'model').ok).toBe(false);
    const started = performance.now();
    const empty = Buffer.concat([...Array.from({ length: 200_000 }, () => Buffer.from(part(field('a'), 'x'))), Buffer.from(END)]);
    expect(multipartFields(empty, CT, 'model').ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('reads a field after a large file part quickly', () => {
    const file = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const b = Buffer.concat([
      Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'),
      file,
      Buffer.from(`\r\n${part('Content-Disposition: form-data; name="model"', 'whisper-1')}${END}`),
    ]);
    const started = performance.now();
    const found = multipartFields(b, CT, 'model');
    const ms = performance.now() - started;
    if (!found.ok) throw new Error(found.why);
    expect(text(b, found.fields[0])).toBe('whisper-1');
    expect(ms).toBeLessThan(2000);
  });
});

describe('multipartFields on bodies built to be slow to read', () => {
  // Found by a review: a 10 MB image edit with a few hundred `\rcontent-disposition:` in its image held the event loop
  // 26-164 s: the loose reading scanned from each mark to the end of the body. Every reading is linear in the body now,
  // each line's work bounded: ~0.1 s for 10 MB; the old reading took over 10 s for one field of these.
  const B = 'XyZb';
  const CTB = `multipart/form-data; boundary=${B}`;
  const TEN_MB = 10 * 1024 * 1024 - 1024;
  const fieldB = (name: string, value: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const HEAD = `${fieldB('model', 'gpt-image-1')}${fieldB('prompt', 'a cat')}--${B}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`;
  function tenMb(filler: string, pad = 'x'): Buffer {
    const tail = `\r\n--${B}--\r\n`;
    return Buffer.from(HEAD + filler + pad.repeat(TEN_MB - HEAD.length - filler.length - tail.length) + tail, 'latin1');
  }
  /** Milliseconds to read each field metering and the model lookup read of an image edit. */
  function readAll(b: Buffer): number {
    const started = performance.now();
    for (const name of ['model', ['image', 'image[]'], 'prompt', 'n', 'size', 'quality', 'output_format']) multipartFields(b, CTB, name);
    return performance.now() - started;
  }

  it('reads 10 MB of disposition marks after bare CRs, LFs or in folded lines in linear time', () => {
    const shapes = [
      '\rcontent-disposition:'.repeat(1000),
      '\rcontent-disposition: form-data; name="a"'.repeat(9000),
      '\ncontent-disposition:'.repeat(9000),
      '\r\ncontent-disposition: form-data;\r\n name=a'.repeat(5000),
    ];
    for (const filler of shapes) expect(readAll(tenMb(filler)), JSON.stringify(filler.slice(0, 30))).toBeLessThan(3000);
  });
});

describe('readMultipart: the one reading of where the parts are', () => {
  it('refuses the boundary anywhere but at its boundary lines, as the object check reads these parts too', () => {
    const file = (content: string) => part('Content-Disposition: form-data; name="file"; filename="x"', content);
    const refused = [
      ['inside a file part', body(part(field('model'), 'm'), file('a--XyZ\r\nContent-Disposition: form-data; name="file_id"\r\n\r\nfile-1'), END)],
      ['after a bare LF', body(part(field('model'), 'm'), file('a\n--XyZ\nContent-Disposition: form-data; name="file_id"\n\nfile-1'), END)],
      ['in the preamble', body('a --XyZ here\r\n', part(field('model'), 'm'), END)],
      ['in the epilogue', body(part(field('model'), 'm'), END, '--XyZ\r\n')],
      ['in a header', body(part(`${field('model')}\r\nX-A: --XyZ`, 'm'), END)],
    ] as const;
    for (const [where, b] of refused) expect(readMultipart(b, CT), where).toEqual({ ok: false, why: 'its boundary appears inside a part, where other readers may split it' });
    // A boundary of dashes: its close delimiter holds it more than once, overlapping.
    const dashes = Buffer.from('----\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n------\r\n');
    expect(multipartFields(dashes, 'multipart/form-data; boundary=--', 'model').ok).toBe(true);
  });

  it('reads a bare CR both as a line end and as text in a line, and bounds a line at 16 KB', () => {
    const file = (content: string) => part('Content-Disposition: form-data; name="file"; filename="x"', content);
    // A line starting after a bare CR (for readers ending lines there), or going on past one (for readers that do not).
    expect(multipartFields(body(file('a\rContent-Disposition: form-data; name="model"\r'), END), CT, 'model').ok).toBe(false);
    expect(multipartFields(body(file('a\nContent-Disposition: form-data; x=1\r; name="model"\n'), END), CT, 'model').ok).toBe(false);
    expect(multipartFields(body(file('a\nContent-Disposition: form-data; x=1\r; name="prompt"\n'), END), CT, 'model').ok).toBe(true);
    // A long line is read whole up to 16 KB; past it, refused, whatever it names.
    const long = (n: number) => body(file(`Content-Disposition: form-data; x="${'a'.repeat(n)}"; name="prompt"\r\nmore`), part(field('model'), 'm'), END);
    expect(multipartFields(long(16_000), CT, 'model').ok).toBe(true);
    expect(multipartFields(long(17_000), CT, 'model')).toEqual({ ok: false, why: 'a Content-Disposition line runs over 16 KB' });
    // Lines of other text are never bounded.
    expect(multipartFields(body(file('b'.repeat(100_000)), part(field('model'), 'm'), END), CT, 'model').ok).toBe(true);
  });

  it('reads a body once, however many fields are sought in it', () => {
    const b = body(part(field('model'), 'm'), part(field('prompt'), 'p'), END);
    const once = readMultipart(b, CT);
    expect(readMultipart(b, CT)).toBe(once);
    expect(multipartFields(b, CT, 'prompt').ok).toBe(true);
    expect(readMultipart(b, CT)).toBe(once);
    // Another Content-Type is another reading.
    expect(readMultipart(b, 'multipart/form-data; boundary=Other').ok).toBe(false);
  });
});

// Found by review: a body whose first boundary line follows an empty preamble (`\r\n--b`, RFC 2046's
// `[preamble CRLF] dash-boundary`, which busboy reads) was refused: the first line was looked for two bytes early.
describe('a body beginning with an empty preamble', () => {
  it('is read as the same body without it', () => {
    const body = '--b\r\nContent-Disposition: form-data; name="model"\r\n\r\ngpt-4o\r\n--b--\r\n';
    const values = (text: string) => {
      const buf = Buffer.from(text);
      const r = multipartFields(buf, 'multipart/form-data; boundary=b', 'model');
      return r.ok ? r.fields.map((f) => buf.subarray(f.start, f.end).toString()) : r;
    };
    expect(values(body)).toEqual(['gpt-4o']);
    expect(values(`\r\n${body}`)).toEqual(['gpt-4o']);
    expect(values(`a preamble\r\n${body}`)).toEqual(['gpt-4o']);
  });
});

