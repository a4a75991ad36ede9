import { describe, expect, it } from 'vitest';
import { keyRecord } from '../../test/harness/key-record.js';
import type { KeyRecord } from '../core/verify.js';
import { KeyCache } from './key-cache.js';

const rec = (id: string, projectId = 'proj_1'): KeyRecord => keyRecord({ id, name: id, projectId });

function cache(db: Map<string, KeyRecord>, max = 100) {
  let loads = 0;
  const c = new KeyCache(
    async (h) => {
      loads++;
      return db.get(h) ?? null;
    },
    { max, negativeTtlMs: 60_000, clock: Date.now },
  );
  return { c, loads: () => loads };
}

describe('KeyCache', () => {
  it('serves known and unknown digests from memory after one load each', async () => {
    const db = new Map([['h1', rec('key_1')]]);
    const { c, loads } = cache(db);
    expect(await c.get('h1')).toMatchObject({ id: 'key_1' });
    expect(c.get('h1')).toMatchObject({ id: 'key_1' }); // synchronous now
    expect(await c.get('nope')).toBeNull();
    expect(c.get('nope')).toBeNull();
    expect(loads()).toBe(2);
  });

  it('drops only the changed key (and the unknown digests, one of which may be the new key)', async () => {
    const db = new Map([
      ['h1', rec('key_1')],
      ['h2', rec('key_2')],
    ]);
    const { c, loads } = cache(db);
    await c.get('h1');
    await c.get('h2');
    await c.get('h3');
    db.set('h3', rec('key_3'));
    c.keyChanged('key_3');
    expect(await c.get('h3')).toMatchObject({ id: 'key_3' });
    c.keyChanged('key_1');
    expect(c.get('h2')).toMatchObject({ id: 'key_2' }); // still cached
    await c.get('h1');
    expect(loads()).toBe(5);
  });

  it('drops both secrets of a key in its rotation grace, and one evicted secret leaves the other indexed', async () => {
    const db = new Map([
      ['old', rec('key_1')],
      ['new', rec('key_1')],
      ['other', rec('key_2', 'proj_2')],
    ]);
    const { c, loads } = cache(db, 2);
    await c.get('old');
    await c.get('new');
    c.keyChanged('key_1');
    expect(c.size).toBe(0);
    await c.get('old');
    await c.get('new');
    await c.get('other'); // evicts 'old', the least recent
    expect(c.size).toBe(2);
    c.keyChanged('key_1');
    expect(c.size).toBe(1);
    expect(c.get('other')).toMatchObject({ id: 'key_2' });
    c.projectChanged('proj_2');
    expect(c.size).toBe(0);
    expect(loads()).toBe(5);
  });

  it('drops every key of a changed project, and stays within its bound', async () => {
    const db = new Map<string, KeyRecord>();
    for (let i = 0; i < 10; i++) db.set(`h${i}`, rec(`key_${i}`, i < 5 ? 'proj_a' : 'proj_b'));
    const { c } = cache(db, 8);
    for (let i = 0; i < 10; i++) await c.get(`h${i}`);
    expect(c.size).toBe(8);
    c.projectChanged('proj_b');
    expect(c.size).toBe(3); // h2, h3, h4 of proj_a remain
    expect(c.get('h4')).toMatchObject({ id: 'key_4' });
    expect(c.get('h9')).toBeInstanceOf(Promise);
  });

  it('keeps a key in use while others come and go (least recently used leave first)', async () => {
    const db = new Map<string, KeyRecord>([['hot', rec('key_hot')]]);
    for (let i = 0; i < 40; i++) db.set(`h${i}`, rec(`key_${i}`));
    const { c, loads } = cache(db, 8);
    await c.get('hot');
    for (let i = 0; i < 40; i++) {
      await c.get(`h${i}`);
      expect(c.get('hot')).toMatchObject({ id: 'key_hot' }); // synchronous: never evicted
    }
    expect(c.size).toBe(8);
    expect(loads()).toBe(41);
    expect(c.get('h0')).toBeInstanceOf(Promise); // the oldest went
  });

  it('forgets everything when changes may have been missed, and keeps no load that started before', async () => {
    const db = new Map([
      ['h1', rec('key_1')],
      ['h2', rec('key_2', 'proj_2')],
    ]);
    const { c, loads } = cache(db);
    await c.get('h1');
    const loading = c.get('h2'); // in flight across the change
    c.everythingChanged();
    db.set('h2', { ...rec('key_2', 'proj_2'), status: 'revoked' });
    await loading;
    expect(c.size).toBe(0);
    expect(await c.get('h2')).toMatchObject({ status: 'revoked' });
    expect(c.get('h1')).toBeInstanceOf(Promise);
    expect(loads()).toBe(4);
  });

  it('gives a request made after a change a fresh lookup, not one read before the change', async () => {
    const db = new Map([['h1', rec('key_1')]]);
    // Each load reads the row when it starts and answers when released: the first one reads before the revoke commits.
    const releases: Array<() => void> = [];
    const c = new KeyCache(
      (h) => {
        const row = db.get(h) ?? null;
        return new Promise((resolve) => releases.push(() => resolve(row)));
      },
      { max: 100, negativeTtlMs: 60_000, clock: Date.now },
    );
    const before = c.get('h1');
    const joined = c.get('h1'); // same epoch: shares the lookup
    expect(releases).toHaveLength(1);
    db.set('h1', { ...rec('key_1'), status: 'revoked' });
    c.keyChanged('key_1');
    const after = c.get('h1');
    const afterToo = c.get('h1'); // joins the fresh lookup, not the stale one
    expect(releases).toHaveLength(2);
    for (const release of releases) release();
    expect(await before).toMatchObject({ status: 'active' });
    expect(await joined).toMatchObject({ status: 'active' });
    expect(await after).toMatchObject({ status: 'revoked' });
    expect(await afterToo).toMatchObject({ status: 'revoked' });
    // The stale answer settling first did not drop the fresh lookup's entry, and only the fresh answer is kept.
    expect(c.get('h1')).toMatchObject({ status: 'revoked' });
  });
});
