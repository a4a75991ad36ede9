import type { KeyRecord } from './verify.js';

// Ports the outer layers implement and the inner ones use (STYLE.md: ports live in core, implementations in storage,
// infra and providers, wiring in the composition root). Other ports stay beside the pure code they serve
// (core/limit-store.ts).

/** Notified after a commit that changed keys, so caches drop what they hold. */
export interface KeyChangeListener {
  keyChanged(keyId: string): void;
  projectChanged(projectId: string): void;
}

/** The project an upstream object (file, batch, response, …) created through Tollgate belongs to. */
export interface ObjectOwner {
  projectId: string;
  deleted: boolean;
  createdAt: number | null;
}

/** The setup token's copy in the data dir (infra/setup-token-file.ts). */
export interface SetupTokenFile {
  readonly path: string;
  /** The file's text (trimmed), or null when there is none. */
  read(): string | null;
  write(token: string): void;
  remove(): void;
}

/** Key records by secret digest (infra/key-cache.ts, over the database). Synchronous when cached. */
export interface KeyRecordSource {
  get(secretHash: string): KeyRecord | null | Promise<KeyRecord | null>;
  /** The record when it is in memory already, else undefined (no lookup). */
  peek?(secretHash: string): KeyRecord | undefined;
}

/** The key cache as the HTTP shell sees it: lookups, and its size and hit counts for /metrics. */
export interface KeyCachePort extends KeyRecordSource {
  readonly size: number;
  readonly stats: { readonly hits: number; readonly misses: number };
}

/** Failed authentications per source address (infra/auth-throttle.ts). */
export interface FailureThrottle {
  /** Milliseconds the address must still wait, 0 when it may try. */
  blockedFor(ip: string, now: number): number;
  fail(ip: string, now: number): void;
}

/** The owners of upstream objects (infra/owner-cache.ts over the database). Synchronous when all are cached. */
export interface ObjectOwners {
  owners(ids: readonly string[]): Map<string, ObjectOwner | null> | Promise<Map<string, ObjectOwner | null>>;
  remember(id: string, owner: ObjectOwner): void;
  forget(id: string): void;
}
