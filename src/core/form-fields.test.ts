import { describe, expect, it } from 'vitest';
import { formBoundary, readFormFields } from './form-fields.js';

const body = (boundary: string, parts: string[]) => Buffer.from(`${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`);

describe('multipart form fields', () => {
  it('reads the boundary of multipart/form-data only', () => {
    expect(formBoundary('multipart/form-data; boundary=abc')).toBe('abc');
    expect(formBoundary('Multipart/Form-Data; charset=utf-8; BOUNDARY="a b;c"')).toBe('a b;c');
    expect(formBoundary('multipart/mixed; boundary=abc')).toBeNull();
    expect(formBoundary('application/json')).toBeNull();
    expect(formBoundary('multipart/form-data')).toBeNull();
    expect(formBoundary(`multipart/form-data; boundary=${'x'.repeat(71)}`)).toBeNull();
    expect(formBoundary(undefined)).toBeNull();
  });

  it('reads text fields, every value of a repeated one, and counts files without reading them', () => {
    const b = body('XyZ', [
      'Content-Disposition: form-data; name="model"\r\n\r\ndall-e-2',
      'Content-Disposition: form-data; name="n"\r\n\r\n2',
      'content-disposition: form-data; name=size\r\nContent-Type: text/plain\r\n\r\n512x512',
      'Content-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\u0000\u0001--XyZ-not-a-delimiter',
      'Content-Disposition: form-data; name="n"\r\n\r\n9',
    ]);
    const f = readFormFields(b, 'XyZ');
    expect(f?.values).toEqual({ model: ['dall-e-2'], n: ['2', '9'], size: ['512x512'] });
    expect(f?.files).toEqual({ image: 1 });
  });

  it('cannot be fooled into a field by a file part or a lookalike name', () => {
    const b = body('B', ['Content-Disposition: form-data; name="file"; filename="model"\r\n\r\nmodel', 'Content-Disposition: form-data; name="model_x"\r\n\r\ngpt-4']);
    expect(readFormFields(b, 'B')?.values).toEqual({ model_x: ['gpt-4'] });
  });

  it('answers null for a body that is not well-formed with this boundary', () => {
    expect(readFormFields(Buffer.from('{"model":"x"}'), 'B')).toBeNull();
    expect(readFormFields(Buffer.from('--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nunterminated'), 'B')).toBeNull();
    expect(readFormFields(body('A', ['Content-Disposition: form-data; name="model"\r\n\r\nx']), 'B')).toBeNull();
  });

  it('keeps a long value cut, never whole', () => {
    const f = readFormFields(body('B', [`Content-Disposition: form-data; name="prompt"\r\n\r\n${'p'.repeat(5000)}`]), 'B');
    expect(f?.values.prompt[0]).toHaveLength(1024);
  });
});
