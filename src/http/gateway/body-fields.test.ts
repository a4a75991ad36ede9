import { describe, expect, it } from 'vitest';
import { requestRefs } from '../../core/object-refs.js';
import { multipartBoundary, multipartFields, multipartTextFields as formFields, urlencodedFields } from './body-fields.js';

const part = (disposition: string, value: string, eol = '\r\n') => `--XyZ${eol}Content-Disposition: form-data; ${disposition}${eol}${eol}${value}${eol}`;
const body = (parts: string[], eol = '\r\n') => Buffer.from(`${parts.join('')}--XyZ--${eol}`);
const fields = (b: Buffer) => JSON.parse(JSON.stringify(formFields(b, 'XyZ')));

describe('multipartTextFields', () => {
  it('reads text fields, nesting brackets as SDKs send them', () => {
    const b = body([part('name="prompt"', 'a cat'), part('name="input_reference[file_id]"', 'file-1'), part('name="ids[]"', 'a'), part('name="ids[]"', 'b'), part('name="x"', '1'), part('name="x"', '2')]);
    expect(fields(b)).toEqual({ prompt: 'a cat', input_reference: { file_id: 'file-1' }, ids: ['a', 'b'], x: ['1', '2'] });
    expect(multipartBoundary('multipart/form-data; boundary="XyZ"')).toBe('XyZ');
    expect(multipartBoundary('application/json')).toBeNull();
  });

  it('finds a field however its name is spelled, with CRLF or bare LF lines', () => {
    for (const disposition of ['name=file_id', 'NAME="file_id"', 'name="file\\_id"', "name*=UTF-8''file%5Fid", 'name="file_id"; filename="x.txt"']) {
      expect(requestRefs(formFields(body([part(disposition, 'file-9')]), 'XyZ')), disposition).toEqual([{ type: 'file', id: 'file-9', param: 'file_id' }]);
    }
    expect(fields(body([part('name="file_id"', 'file-9', '\n')], '\n'))).toEqual({ file_id: 'file-9' });
  });

  it('reads the objects named inside a JSON field, skips uploads, and never touches the prototype', () => {
    const session = JSON.stringify({ prompt: { id: 'pmpt_1', variables: { doc: { type: 'input_file', file_id: 'file-3' } } } });
    const b = body([part('name="session"', session), part('name="file"; filename="big.bin"', 'x'.repeat(10_000)), part('name="__proto__[polluted]"', 'yes')]);
    const out = formFields(b, 'XyZ');
    expect(requestRefs(out)).toEqual([{ type: 'file', id: 'file-3', param: 'file_id' }]);
    expect(out.file).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("keeps a file part's contents out of the request's parameters, and its name in them", () => {
    const doc = JSON.stringify({ conversation: 'conv_1', file_ids: ['file-1'] });
    const b = body([part('name="purpose"', 'user_data'), part('name="file"; filename="settings.json"', doc), part('name="file_id"; filename="id.txt"', 'file-2'), part('name="session"', '{"file_id":"file-3"}')]);
    const { fields, params } = multipartFields(b, 'XyZ');
    // An upstream may read small file parts as fields: their objects are the project's to name.
    expect(requestRefs(fields).map((r) => r.id).sort()).toEqual(['conv_1', 'file-1', 'file-2', 'file-3']);
    expect(requestRefs(params).map((r) => r.id).sort()).toEqual(['file-2', 'file-3']);
    expect(params.file).toBe(doc);
    const plain = multipartFields(body([part('name="file_id"', 'file-9')]), 'XyZ');
    expect(plain.params).toBe(plain.fields);
  });

  it('reads urlencoded fields the same way, `;` separators included', () => {
    expect(requestRefs(urlencodedFields('endpoint=%2Fv1%2Fx;input_file_id=file-7&tools[0][vector_store_ids][]=vs_1'))).toEqual([
      { type: 'file', id: 'file-7', param: 'input_file_id' },
      { type: 'vector_store', id: 'vs_1', param: 'vector_store_ids' },
    ]);
  });
});
