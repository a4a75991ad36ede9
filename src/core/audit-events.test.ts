import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES, AUDIT_EVENTS } from './audit-events.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !path.endsWith('audit-events.ts') ? [path] : [];
  });
}

describe('audit event catalogue', () => {
  it('documents every type in docs/audit-log.md, and no other', () => {
    const doc = readFileSync(new URL('../../docs/audit-log.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => /^\| `[a-z_.]+` \|/.test(l));
    const documented = rows.map((l) => (/^\| `([a-z_.]+)`/.exec(l) as RegExpExecArray)[1]);
    expect(documented).toEqual(AUDIT_EVENT_TYPES);
  });

  it('lists only types some code writes (no stale entry)', () => {
    const code = sources(SRC)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unwritten = AUDIT_EVENT_TYPES.filter((t) => !code.includes(`'${t}'`));
    expect(unwritten).toEqual([]);
  });

  it('gives every type a label', () => {
    for (const t of AUDIT_EVENT_TYPES) expect(AUDIT_EVENTS[t].length).toBeGreaterThan(3);
  });
});
