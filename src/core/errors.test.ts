import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorBody, TollgateError } from './errors.js';

describe('error catalogue', () => {
  it('documents every code in docs/errors.md with its status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(row, `docs/errors.md lacks ${code}`).toBeDefined();
      expect(row).toContain(`| ${entry.status} |`);
      expect(row).toContain(`\`${entry.type}\``);
    }
  });

  it('documents no code that does not exist, and each once (no stale or duplicate row)', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect(rows.filter((code) => !(code in ERROR_CATALOGUE))).toEqual([]);
    expect(rows.filter((code, i) => rows.indexOf(code) !== i)).toEqual([]);
    expect(rows.length).toBe(Object.keys(ERROR_CATALOGUE).length);
  });

  it('renders the OpenAI error shape', () => {
    const body = errorBody(new TollgateError('invalid_value', 'bad name', 'name'));
    expect(body).toEqual({ error: { message: 'bad name', type: 'invalid_request_error', param: 'name', code: 'invalid_value' } });
  });
});
