import { describe, expect, it } from 'vitest';
import { foldName, mayFold, memberInAnyCase, membersInAnyCase } from './member-case.js';

const refusal = (read: () => unknown) => {
  try {
    read();
    return null;
  } catch (e) {
    const err = e as { status: number; code: string; param: string | null; message: string };
    return { status: err.status, code: err.code, param: err.param, message: err.message };
  }
};

describe('foldName', () => {
  it('folds as Go’s encoding/json matches names: ASCII case, the Kelvin sign to k, the long s to s', () => {
    expect(foldName('tools')).toBe('tools');
    expect(foldName('Tools')).toBe('tools');
    expect(foldName('\u017fhell')).toBe('shell');
    expect(foldName('\u212aind')).toBe('kind');
    expect(mayFold('file_id')).toBe(false);
    expect(mayFold('File_id')).toBe(true);
  });
});

describe('memberInAnyCase', () => {
  it('reads a member in any case, undefined when absent', () => {
    expect(memberInAnyCase({ type: 'shell' }, 'type')).toBe('shell');
    expect(memberInAnyCase({ Type: 'shell' }, 'type')).toBe('shell');
    expect(memberInAnyCase({ TOOLS: [1] }, 'tools')).toEqual([1]);
    expect(memberInAnyCase({ \u212aey: 1 }, 'key')).toBe(1);
    expect(memberInAnyCase({ types: 'x' }, 'type')).toBeUndefined();
    expect(memberInAnyCase({}, 'constructor')).toBeUndefined();
  });

  it('refuses 400 naming the member when two spellings are present', () => {
    expect(refusal(() => memberInAnyCase({ type: 'shell', Type: 'function' }, 'type'))).toMatchObject({ status: 400, code: 'invalid_value', param: 'type' });
    expect(refusal(() => memberInAnyCase({ Environment: {}, ENVIRONMENT: {} }, 'environment'))?.message).toContain("'Environment' and 'ENVIRONMENT'");
    expect(refusal(() => memberInAnyCase({ type: 'a', Other: 1 }, 'type'))).toBeNull();
  });
});

describe('membersInAnyCase', () => {
  const names = new Set(['type', 'id']);
  it('is the object itself when no name may fold, else its named members by their folded names', () => {
    const plain = { type: 'a', id: 'b', x: 1 };
    expect(membersInAnyCase(plain, names)).toBe(plain);
    expect({ ...membersInAnyCase({ Type: 'a', ID: 'b', X: 1 }, names) }).toEqual({ type: 'a', id: 'b' });
  });

  it('refuses two spellings of a named member only', () => {
    expect(refusal(() => membersInAnyCase({ id: 'a', Id: 'b' }, names))).toMatchObject({ status: 400, param: 'id' });
    expect(refusal(() => membersInAnyCase({ name: 'a', Name: 'b', type: 'c' }, names))).toBeNull();
  });
});
