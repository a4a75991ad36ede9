import { describe, expect, it } from 'vitest';
import { decodeFormText, formFields } from './form-fields.js';

describe('formFields', () => {
  it('finds a field with its decoded value and the offsets of its encoded value', () => {
    const text = 'prompt=a+cat&model=gpt%2D4o-mini&n=1';
    const found = formFields(text, 'model');
    if (!found.ok) throw new Error(found.why);
    expect(found.fields).toEqual([{ value: 'gpt-4o-mini', start: 19, end: 32 }]);
    expect(text.slice(19, 32)).toBe('gpt%2D4o-mini');
  });

  it('decodes names as WHATWG URLSearchParams does, and returns repeated fields', () => {
    const found = formFields('mod%65l=a&model=b&model', 'model');
    if (!found.ok) throw new Error(found.why);
    expect(found.fields.map((f) => f.value)).toEqual(['a', 'b', '']);
    expect(formFields('', 'model')).toEqual({ ok: true, fields: [] });
    expect(formFields('&&x=1&', 'model')).toEqual({ ok: true, fields: [] });
  });

  it('refuses texts other readers split or name differently', () => {
    for (const text of ['x=1;model=gpt-4', 'model=gpt-4o-mini;model=gpt-4', 'Model=gpt-4', 'MODEL=gpt-4', 'model[]=gpt-4', 'model.id=gpt-4', '%20model=gpt-4', 'model%20=gpt-4']) {
      expect(formFields(text, 'model').ok, text).toBe(false);
    }
  });
});

describe('formFields bounds', () => {
  it('refuses past 10,000 fields or a 1 KB field name, and stays linear on 10 MB', () => {
    expect(formFields(`${'a=1&'.repeat(9_999)}model=x`, 'model')).toMatchObject({ ok: true, fields: [{ value: 'x' }] });
    expect(formFields(`${'a=1&'.repeat(10_000)}model=x`, 'model')).toEqual({ ok: false, why: 'it has more than 10000 fields' });
    expect(formFields(`${'k'.repeat(1025)}=1&model=x`, 'model').ok).toBe(false);
    const started = performance.now();
    expect(formFields('a&'.repeat(5 * 1024 * 1024), 'model').ok).toBe(false);
    expect(formFields('a;'.repeat(5 * 1024 * 1024), 'model').ok).toBe(false);
    expect(formFields(`model=${'%41'.repeat(3 * 1024 * 1024)}`, 'model')).toMatchObject({ ok: true });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('decodeFormText', () => {
  it('decodes plus, percent escapes and UTF-8, and keeps malformed escapes', () => {
    expect(decodeFormText('a+b%20c')).toBe('a b c');
    expect(decodeFormText('%E2%82%AC')).toBe('€');
    expect(decodeFormText('100%')).toBe('100%');
    expect(decodeFormText('%zz')).toBe('%zz');
    expect(decodeFormText('%FF')).toBe('\ufffd');
    expect(decodeFormText('%00')).toBe('\u0000');
    for (const s of ['a+b', '%41%42', 'x%2By', '%E2%82%AC', 'plain']) expect(decodeFormText(s)).toBe(new URLSearchParams(`k=${s}`).get('k'));
  });
});
