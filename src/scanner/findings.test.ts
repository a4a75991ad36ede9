import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../core/key-format.js';
import { type Finding, type KeyLookup, isLive, shouldFail, sortFindings, toPublicFinding, tollgateSecrets } from './findings.js';

const key = () => generateSecret('project', randomBytes);

function tollgate(secret: string, file = 'a.txt', line = 1): Finding {
  return { type: 'tollgate', secondary: false, secret, kind: 'project', file, line, column: 1, commit: null };
}
const aws: Finding = { type: 'aws', secondary: true, secret: 'AKIAIOSFODNN7EXAMPLE', file: 'b.txt', line: 2, column: 3, commit: null };
const found = (status: string): KeyLookup => ({ found: true, id: 'key_1', kind: 'project', project_id: 'proj_1', name: 'ci', status });

describe('isLive', () => {
  it.each([
    ['not checked', undefined, null],
    ['unknown to the server', { found: false } as const, false],
    ['revoked', found('revoked'), false],
    ['expired', found('expired'), false],
    ['exposed', found('exposed'), false],
    ['suspended', found('suspended'), false],
    ['whose secret a rotation retired', found('rotated_out'), false],
    ['of an archived project', found('project_archived'), false],
    ['active', found('active'), true],
    ['in a status this client does not know', found('quarantined'), true],
  ])('a key %s is live: %s', (_what, lookup, live) => {
    expect(isLive(lookup)).toBe(live);
  });
});

describe('shouldFail', () => {
  const k = key();
  it('passes a clean scan', () => {
    expect(shouldFail([], new Map(), false)).toBe(false);
  });
  it('fails on a Tollgate key that could not be checked', () => {
    expect(shouldFail([tollgate(k)], new Map(), false)).toBe(true);
  });
  it('fails on a live Tollgate key', () => {
    expect(shouldFail([tollgate(k)], new Map([[k, found('active')]]), false)).toBe(true);
  });
  it('passes dead keys and keys the server does not know', () => {
    const other = key();
    expect(shouldFail([tollgate(k), tollgate(other)], new Map<string, KeyLookup>([[k, found('revoked')], [other, { found: false }]]), false)).toBe(false);
  });
  it('passes other providers\' keys unless failOnAny', () => {
    expect(shouldFail([aws], new Map(), false)).toBe(false);
    expect(shouldFail([aws], new Map(), true)).toBe(true);
  });
  it('with failOnAny fails on a dead Tollgate key too', () => {
    expect(shouldFail([tollgate(k)], new Map([[k, found('revoked')]]), true)).toBe(true);
  });
});

describe('toPublicFinding', () => {
  it('redacts and adds what the server knows', () => {
    const k = key();
    const out = toPublicFinding(tollgate(k), new Map([[k, found('active')]]));
    expect(out).toEqual({
      type: 'tollgate',
      secondary: false,
      file: 'a.txt',
      line: 1,
      column: 1,
      commit: null,
      redacted: `sk-tg-…${k.slice(-4)}`,
      kind: 'project',
      live: true,
      key_id: 'key_1',
      key_name: 'ci',
      project_id: 'proj_1',
      status: 'active',
    });
    expect(JSON.stringify(out)).not.toContain(k.slice(6, 30));
  });
  it('marks unchecked keys live: null, unknown keys status: unknown', () => {
    const k = key();
    expect(toPublicFinding(tollgate(k), new Map())).toMatchObject({ live: null });
    expect(toPublicFinding(tollgate(k), new Map()).status).toBeUndefined();
    expect(toPublicFinding(tollgate(k), new Map([[k, { found: false }]]))).toMatchObject({ live: false, status: 'unknown' });
  });
  it('gives other providers\' keys no kind and no liveness', () => {
    const out = toPublicFinding(aws, new Map());
    expect(out).toEqual({ type: 'aws', secondary: true, file: 'b.txt', line: 2, column: 3, commit: null, redacted: 'AKIA…MPLE' });
  });
});

describe('sortFindings and tollgateSecrets', () => {
  it('orders by file, line, column, then commit', () => {
    const k = key();
    const f = (file: string, line: number, column: number, commit: string | null): Finding => ({ ...tollgate(k, file, line), column, commit });
    const sorted = sortFindings([f('b', 1, 1, null), f('a', 2, 1, null), f('a', 1, 5, null), f('a', 1, 5, 'c2'), f('a', 1, 5, 'c1')]);
    expect(sorted.map((x) => `${x.file}:${x.line}:${x.column}:${x.commit}`)).toEqual(['a:1:5:null', 'a:1:5:c1', 'a:1:5:c2', 'a:2:1:null', 'b:1:1:null']);
  });
  it('lists each Tollgate secret once, in order, without other providers\' keys', () => {
    const [a, b] = [key(), key()];
    expect(tollgateSecrets([tollgate(a), aws, tollgate(b), tollgate(a)])).toEqual([a, b]);
  });
});
