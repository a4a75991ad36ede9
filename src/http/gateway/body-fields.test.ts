import { describe, expect, it } from 'vitest';
import { requestRefs } from '../../core/object-refs.js';
import { multipartFields, multipartTextFields as formFields, urlencodedFields } from './body-fields.js';

const part = (disposition: string, value: string, eol = '\r\n') => `--XyZ${eol}Content-Disposition: form-data; ${disposition}${eol}${eol}${value}${eol}`;
const body = (parts: string[], eol = '\r\n') => Buffer.from(`${parts.join('')}--XyZ--${eol}`);
const CT = 'multipart/form-data; boundary=XyZ';
const fields = (b: Buffer) => JSON.parse(JSON.stringify(formFields(b, CT)));

describe('multipartTextFields', () => {
  it('reads text fields, nesting brackets as SDKs send them', () => {
    const b = body([part('name="prompt"', 'a cat'), part('name="input_reference[file_id]"', 'file-1'), part('name="ids[]"', 'a'), part('name="ids[]"', 'b'), part('name="x"', '1'), part('name="x"', '2')]);
    expect(fields(b)).toEqual({ prompt: 'a cat', input_reference: { file_id: 'file-1' }, ids: ['a', 'b'], x: ['1', '2'] });
  });

  it('finds a field however its name is spelled; refuses bare LF lines and a boundary inside a part, as the model lookup does', () => {
    for (const disposition of ['name=file_id', 'NAME="file_id"', 'name="file\\_id"', "name*=UTF-8''file%5Fid", 'name="file_id"; filename="x.txt"']) {
      expect(requestRefs(formFields(body([part(disposition, 'file-9')]), CT)), disposition).toEqual([{ type: 'file', id: 'file-9', param: 'file_id' }]);
    }
    // Read by the one strict reader (core/multipart.ts): a body another reader would split otherwise is refused, 415.
    const code = (b: Buffer) => {
      try {
        return fields(b) && null;
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(body([part('name="file_id"', 'file-9', '\n')], '\n'))).toBe('unsupported_media_type');
    expect(code(body([part('name="file"; filename="a.txt"', 'x\n--XyZ\nContent-Disposition: form-data; name="file_id"\n\nfile-9')]))).toBe('unsupported_media_type');
    expect(code(body([part('name="file"; filename="a.txt"', 'x--XyZ\r\nContent-Disposition: form-data; name="file_id"\r\n\r\nfile-9')]))).toBe('unsupported_media_type');
    expect(code(body([part('name="file_id"', 'file-9')]))).toBeNull();
  });

  it('reads the objects named inside a JSON field, skips uploads, and never touches the prototype', () => {
    const session = JSON.stringify({ prompt: { id: 'pmpt_1', variables: { doc: { type: 'input_file', file_id: 'file-3' } } } });
    const b = body([part('name="session"', session), part('name="file"; filename="big.bin"', 'x'.repeat(10_000)), part('name="__proto__[polluted]"', 'yes')]);
    const out = formFields(b, CT);
    expect(requestRefs(out)).toEqual([{ type: 'file', id: 'file-3', param: 'file_id' }]);
    expect(out.file).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("keeps a file part's contents out of the request's parameters, and its name in them", () => {
    const doc = JSON.stringify({ conversation: 'conv_1', file_ids: ['file-1'] });
    const b = body([part('name="purpose"', 'user_data'), part('name="file"; filename="settings.json"', doc), part('name="file_id"; filename="id.txt"', 'file-2'), part('name="session"', '{"file_id":"file-3"}')]);
    const { fields, params } = multipartFields(b, CT);
    // An upstream may read small file parts as fields: their objects are the project's to name.
    expect(requestRefs(fields).map((r) => r.id).sort()).toEqual(['conv_1', 'file-1', 'file-2', 'file-3']);
    expect(requestRefs(params).map((r) => r.id).sort()).toEqual(['file-2', 'file-3']);
    expect(params.file).toBe(doc);
    const plain = multipartFields(body([part('name="file_id"', 'file-9')]), CT);
    expect(plain.params).toBe(plain.fields);
  });

  it('refuses a JSON field that only a lenient reader reads, when it may name an object', () => {
    const refusal = (b: Buffer) => {
      try {
        multipartFields(b, CT);
        return null;
      } catch (e) {
        return [(e as { code: string }).code, (e as Error).message];
      }
    };
    // Python's json.loads reads NaN: the session's file would reach it unchecked.
    const lenient = '{"type":"realtime","x":NaN,"prompt":{"id":"pmpt_1","variables":{"v":{"type":"input_file","file_id":"file-3"}}}}';
    expect(refusal(body([part('name="session"', lenient)]))?.[0]).toBe('invalid_json');
    expect(refusal(body([part('name="session"', lenient)], '\n'))?.[0]).toBe('invalid_json');
    // Text that names no object stays text, as before.
    expect(refusal(body([part('name="prompt"', '{a cat, in braces}')]))).toBeNull();
  });

  it("refuses a small batch file's line that the batch's check could not read: each strict JSON, CR and CRLF ending a line", () => {
    const line = (id: string, extra = '') => `{"custom_id":"1"${extra},"body":{"input":[{"type":"input_file","file_id":"${id}"}]}}`;
    const upload = (content: string, purpose = 'batch') => body([part('name="purpose"', purpose), part('name="file"; filename="in.jsonl"', content)]);
    // Honest files pass, and are read as before (the batch reads each line at its creation; one JSON document now).
    const { fields, params } = multipartFields(upload(`${line('file-1')}\r\n${line('file-2')}\r${line('file-3')}\n\n`), CT);
    expect(requestRefs(fields)).toEqual([]);
    expect(requestRefs(params)).toEqual([]);
    expect(requestRefs(multipartFields(upload(`${line('file-1')}\r\n`), CT).fields).map((r) => r.id)).toEqual(['file-1']);
    const refused = (content: string) => {
      try {
        multipartFields(upload(content), CT);
        return null;
      } catch (e) {
        return [(e as { code: string }).code, (e as Error).message];
      }
    };
    expect(refused(`${line('file-1')}\n${line('file-2', ',"x":NaN')}\n`)).toEqual(['invalid_json', expect.stringMatching(/line 2 of the file part 'file': it is not strict JSON/)]);
    expect(refused(`${line('file-1')}\n${line('file-2', ',"x":"\u2028"')}\n`)).toEqual(['invalid_json', expect.stringMatching(/line 2 .* U\+2028/)]);
    expect(refused(`${line('file-1')}\n${line('file-2')}${line('file-3')}\n`)?.[1]).toMatch(/line 2/);
    // Another purpose's file is data, read as before (JSON when it is one document, else text).
    expect(() => multipartFields(upload(`${line('file-1', ',"x":NaN')}\n`, 'user_data'), CT)).not.toThrow();
  });

  it('reads urlencoded fields the same way, `;` separators included', () => {
    expect(requestRefs(urlencodedFields('endpoint=%2Fv1%2Fx;input_file_id=file-7&tools[0][vector_store_ids][]=vs_1'))).toEqual([
      { type: 'file', id: 'file-7', param: 'input_file_id' },
      { type: 'vector_store', id: 'vs_1', param: 'vector_store_ids' },
    ]);
  });

  it('reads 10 MB bodies holding the boundary many times in linear time', () => {
    // Found by a review: a file upload whose file held `--B\r\n\r\nA` 50,000 times held the event loop 94 s: this
    // reader split parts at the boundary anywhere and looked for each one's blank line to the end of the body.
    const B = 'XyZb';
    const TEN_MB = 10 * 1024 * 1024 - 1024;
    const head = `--${B}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n`;
    const tail = `\r\n--${B}--\r\n`;
    for (const filler of [`--${B}\r\n\r\nA`.repeat(20_000), `--${B}\r\nA`.repeat(20_000), `--${B}\n`.repeat(20_000)]) {
      const b = Buffer.from(head + filler + 'x'.repeat(TEN_MB - head.length - filler.length - tail.length) + tail, 'latin1');
      const started = performance.now();
      try {
        multipartFields(b, `multipart/form-data; boundary=${B}`);
      } catch {
        // refused: as good as read, so long as it is quick
      }
      expect(performance.now() - started, filler.slice(0, 12)).toBeLessThan(3000);
    }
  });
});
