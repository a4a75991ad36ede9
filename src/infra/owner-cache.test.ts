import { describe, expect, it } from 'vitest';
import type { ObjectOwner } from '../services/upstream-objects.js';
import { OwnerCache } from './owner-cache.js';

const owner = (projectId: string): ObjectOwner => ({ projectId, deleted: false, createdAt: null, credential: null });

describe('OwnerCache', () => {
  it('answers from memory once loaded, with one load for all the ids it lacks', async () => {
    const loads: string[][] = [];
    const cache = new OwnerCache(async (ids) => {
      loads.push(ids);
      return new Map(ids.filter((id) => id !== 'nobody').map((id) => [id, owner('proj_a')]));
    }, { max: 10, unownedTtlMs: 1000, clock: () => 0 });
    const first = await cache.owners(['file-1', 'file-2', 'nobody']);
    expect(first.get('file-1')?.projectId).toBe('proj_a');
    expect(first.get('nobody')).toBeNull();
    const second = cache.owners(['file-1', 'nobody']);
    expect(second).toBeInstanceOf(Map); // synchronous: nothing to load
    expect(loads).toEqual([['file-1', 'file-2', 'nobody']]);
  });

  it('forgets an id nobody owned after a while, and one an operator changed at once', async () => {
    let now = 0;
    let projectOf = 'proj_a';
    const cache = new OwnerCache(async (ids) => new Map(ids.filter((id) => id !== 'late').map((id) => [id, owner(projectOf)])), {
      max: 10,
      unownedTtlMs: 1000,
      clock: () => now,
    });
    expect((await cache.owners(['late'])).get('late')).toBeNull();
    now = 999;
    expect((cache.owners(['late']) as Map<string, unknown>).get('late')).toBeNull();
    now = 1001;
    expect(cache.owners(['late'])).toBeInstanceOf(Promise);
    await cache.owners(['file-1']);
    projectOf = 'proj_b';
    cache.keyChanged('file-1'); // a key id, not an object change: kept
    expect((cache.owners(['file-1']) as Map<string, ObjectOwner>).get('file-1')?.projectId).toBe('proj_a');
    cache.keyChanged('obj:file-1');
    expect((await cache.owners(['file-1'])).get('file-1')?.projectId).toBe('proj_b');
  });

  it('does not keep what a load started before a change read', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const cache = new OwnerCache(async (ids) => {
      await gate;
      return new Map(ids.map((id) => [id, owner('proj_old')]));
    }, { max: 10, unownedTtlMs: 1000, clock: () => 0 });
    const pending = cache.owners(['file-1']);
    cache.keyChanged('obj:file-1');
    release();
    expect((await pending).get('file-1')?.projectId).toBe('proj_old');
    expect(cache.size).toBe(0);
  });

  it('stays within its bound', async () => {
    const cache = new OwnerCache(async (ids) => new Map(ids.map((id) => [id, owner('p')])), { max: 3, unownedTtlMs: 1000, clock: () => 0 });
    await cache.owners(['a', 'b', 'c', 'd', 'e']);
    expect(cache.size).toBe(3);
  });
});
