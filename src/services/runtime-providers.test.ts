import { describe, expect, it } from 'vitest';
import { redactSecret } from './runtime-providers.js';

describe('redactSecret', () => {
  it("shows a key's kind and last four characters, OpenAI's sk-…abcd", () => {
    expect(redactSecret('sk-abcdefghijklmnopqrstuvwxyzWXYZ')).toBe('sk-…WXYZ');
    expect(redactSecret('sk-ant-api03-abcdefghijklmnopqrstuvwxyz-1234')).toBe('sk-ant-…1234');
    expect(redactSecret('sk-proj-abcdefghijklmnopqrstuvwxyz9876')).toBe('sk-proj-…9876');
    expect(redactSecret('0123456789abcdef0123456789abcdef')).toBe('…cdef');
  });

  it('shows nothing of a short key (its tail would be much of it)', () => {
    expect(redactSecret('sk-short')).toBe('…');
    expect(redactSecret('abcdefghijklmno')).toBe('…');
  });
});
