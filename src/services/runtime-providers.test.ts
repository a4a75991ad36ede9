import { describe, expect, it } from 'vitest';
import { redactSecret } from './runtime-providers.js';

describe('redactSecret', () => {
  it("shows a key's kind and last four characters, OpenAI's sk-…abcd", () => {
    expect(redactSecret('sk-abcdefghijklmnopqrstuvwxyzWXYZ')).toBe('sk-…WXYZ');
    expect(redactSecret('sk-ant-api03-abcdefghijklmnopqrstuvwxyz-1234')).toBe('sk-ant-…1234');
    expect(redactSecret('sk-proj-abcdefghijklmnopqrstuvwxyz9876')).toBe('sk-proj-…9876');
    expect(redactSecret('0123456789abcdef0123456789abcdef')).toBe('…cdef');
  });

  it('keeps a kind prefix ended by an underscore too (Groq, Hugging Face) and by a hyphen (xAI, Perplexity)', () => {
    // docs/providers.md shows a Groq key as "gsk_…abcd"
    expect(redactSecret('gsk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHabcd')).toBe('gsk_…abcd');
    expect(redactSecret('hf_abcdefghijklmnopqrstuvwxyz0123')).toBe('hf_…0123');
    expect(redactSecret('xai-abcdefghijklmnopqrstuvwxyz0123456789')).toBe('xai-…6789');
    expect(redactSecret('pplx-abcdefghijklmnopqrstuvwxyz0123456789')).toBe('pplx-…6789');
    expect(redactSecret('sk-or-v1-abcdefghijklmnopqrstuvwxyz0123456789')).toBe('sk-or-…6789');
  });

  it("keeps Google's fixed AIza marker, which every Google API key starts with", () => {
    expect(redactSecret('AIzaSyAbcdefghijklmnopqrstuvwxyz012345')).toBe('AIza…2345');
  });

  it('shows no more than a short lower-case kind: random characters before a separator stay hidden', () => {
    // a base64url secret may start with letters and a separator by chance; those letters are secret
    expect(redactSecret('AbCdEf_ghijklmnopqrstuvwxyz0123456789')).toBe('…6789');
    expect(redactSecret('abcdefgh_ijklmnopqrstuvwxyz0123456789')).toBe('…6789');
    expect(redactSecret('sk-abcdefghi-jklmnopqrstuvwxyz0123456789')).toBe('sk-…6789');
    expect(redactSecret('gsk_ab-cdefghijklmnopqrstuvwxyz0123456789')).toBe('gsk_…6789');
    for (const secret of ['gsk_abcdefghijklmnopqrstuvwxyz0123456789', 'x_abcdefghijklmnopqrstuvwxyz01234567']) {
      const shown = redactSecret(secret).replace('…', '');
      expect(shown.length).toBeLessThanOrEqual(4 + 8);
      expect(redactSecret(secret).split('…')[1]).toHaveLength(4);
    }
  });

  it('shows nothing of a short key (its tail would be much of it)', () => {
    expect(redactSecret('sk-short')).toBe('…');
    expect(redactSecret('abcdefghijklmno')).toBe('…');
    expect(redactSecret('gsk_abcdefghijk')).toBe('…');
  });
});
