import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, errorBody, QUOTED_KEY, TollgateError } from './errors.js';

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

describe('secrets in messages', () => {
  it('redacts a Tollgate key a message quotes, project or admin, and matches the key format', async () => {
    const { SECRET_PATTERN_SOURCE, generateSecret } = await import('./key-format.js');
    const { randomBytes } = await import('node:crypto');
    expect(QUOTED_KEY.source).toBe(SECRET_PATTERN_SOURCE);
    const project = generateSecret('project', randomBytes);
    const admin = generateSecret('admin', randomBytes);
    const e = new TollgateError('insufficient_permissions', `This API key may not use the model '${project}' nor '${admin}'.`);
    expect(e.message).toBe(`This API key may not use the model 'sk-tg-…${project.slice(-4)}' nor 'sk-tg-admin-…${admin.slice(-4)}'.`);
  });
});
