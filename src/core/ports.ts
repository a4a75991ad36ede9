import type { KeyRecord } from './verify.js';
import type { MaybePromise } from './maybe-promise.js';

// Ports the outer layers implement and the inner ones use (STYLE.md: ports live in core, implementations in storage,
// infra and providers, wiring in the composition root). Other ports stay beside the pure code they serve
// (core/limit-store.ts).

/** Notified after a commit that changed keys, so caches drop what they hold. */
export interface KeyChangeListener {
  keyChanged(keyId: string): void;
  projectChanged(projectId: string): void;
  /** A runtime provider or one of its credentials changed (only the provider directory listens). */
  providerChanged?(providerId: string): void;
  /** Changes may have been missed (the change feed lost track of some): forget everything cached and read it again. */
  everythingChanged?(): void;
}

/**
 * Encrypts secrets Tollgate must use again (runtime provider credentials, webhook signing secrets) at rest
 * (infra/aes-gcm-cipher.ts). `context` is bound to the ciphertext (what the row's secret may be used for: the
 * credential, its provider and base URL; the webhook endpoint), so a ciphertext moved onto another row, or left on a
 * row whose binding changed, does not open.
 */
export interface SecretCipher {
  /** Seals under the current format, bound to `context`. */
  seal(plaintext: string, context: string): string;
  /**
   * The plaintext; throws when the ciphertext was tampered with, belongs to another context, or the key differs. A
   * first-format ciphertext (written before the current format) opens bound to what it was bound to: `v1Context`
   * where it bound one (without it, it is refused).
   */
  open(sealed: string, context: string, v1Context?: string): string;
  /** Whether `sealed` is of the current format (else it is to be sealed again). */
  isCurrent(sealed: string): boolean;
}

/** A check of the server secret the database keeps in its stead (infra/secret-verifier.ts). */
export interface ServerSecretVerifier {
  /** A new verifier of the secret (salted afresh). */
  make(): string;
  /** Whether a stored verifier is of this secret (compared in constant time; false for one it cannot read). */
  matches(stored: string): boolean;
}

/**
 * Hashes and checks account passwords (infra/argon2-hasher.ts). `verify` never throws: a malformed stored hash is a
 * wrong password. With no stored hash it still spends one verification, so timing does not tell which accounts exist.
 */
export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
  hash(password: string): Promise<string>;
  verify(storedHash: string | null, password: string): Promise<boolean>;
}

/** The project an upstream object (file, batch, response, …) created through Tollgate belongs to. */
export interface ObjectOwner {
  projectId: string;
  deleted: boolean;
  createdAt: number | null;
  /**
   * The provider credential whose account holds the object (its id, as usage events name it), to which every request
   * naming it is pinned; null when not known (not pinned).
   */
  credential: string | null;
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
  get(secretHash: string): MaybePromise<KeyRecord | null>;
  /** The record when it is in memory already, else undefined (no lookup). */
  peek?(secretHash: string): KeyRecord | undefined;
}

/** The key cache as the HTTP shell sees it: lookups, and its size and hit counts for /metrics. */
export interface KeyCachePort extends KeyRecordSource {
  /**
   * A number that changes with every key or project change this instance learns of: a record read before it may be
   * stale once it moved (a key revoked while its request's body was still arriving).
   */
  readonly changes: number;
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
  owners(ids: readonly string[]): MaybePromise<Map<string, ObjectOwner | null>>;
  remember(id: string, owner: ObjectOwner): void;
  forget(id: string): void;
}

/** (key id, unix seconds) pairs: when each key was last used. */
export type LastUsedRows = Array<[keyId: string, atSeconds: number]>;

/** A network a key was seen from, as key_networks stores it. */
export interface KeyNetworkRow {
  key_id: string;
  network: string;
  first_seen: number;
}

/**
 * Where usage is written: every usage event, key's last-used time and key's new network goes through the one sink of
 * the process, chosen in the composition root (storage/postgres-usage-sink.ts; storage/sqlite-usage-sink.ts, a worker
 * thread or, where none runs, the gateway's own connection).
 */
export interface UsageSink {
  /** Most events per `write` (the recorder gathers up to this many). */
  readonly maxBatch: number;
  /**
   * Writes usage lines (core/usage-line.ts: UTF-8, each ending in a newline) with their rollups, idempotently by event
   * id; keeps no reference to the bytes. Rejects as the database does: a data error (storage/write-errors.ts) when the
   * lines' own values were refused, and then nothing of that transaction is written.
   */
  write(lines: Uint8Array): Promise<void>;
  /** Sets each key's last-used time, never moving one backwards. */
  writeLastUsed(rows: LastUsedRows): Promise<void>;
  /** Stores a key's network unless the key already has it; true when it was new. */
  rememberNetwork(row: KeyNetworkRow): Promise<boolean>;
  /** Deletes up to `max` of the oldest raw usage events created before `beforeMs` (rollups are kept); how many it did. */
  deleteEventsBefore(beforeMs: number, max: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * The write-ahead log of usage lines, in this instance's data dir (infra/usage-wal.ts): what the recorder has taken but
 * not yet written survives a crash.
 */
export interface UsageLog {
  /**
   * The files of the segments a previous run left, oldest first: read by the caller a part at a time (a long outage
   * can leave more than fits in memory), and dropped by `release` like any segment.
   */
  leftovers(): string[];
  /** Appends whole lines, asynchronously, after every earlier append. */
  write(lines: Uint8Array): void;
  /**
   * Appends whole lines before it returns, to a segment no asynchronous append shares (the lines of a request metered
   * after the recorder stopped: the process may exit at once). Throws when they could not be written.
   */
  writeSync(lines: Uint8Array): void;
  /** Starts a new segment once every earlier append is written; returns the sealed one's number. */
  seal(): Promise<number>;
  /** Drops every segment up to `upTo` (their events are in the database). */
  release(upTo: number): Promise<void>;
  close(): Promise<void>;
}

/** One usage event the database refused, as the dead-letter file keeps it (one JSON object a line). */
export interface DeadLetter {
  /** When it was set aside (ms since the epoch, the injected clock's). */
  dead_at_ms: number;
  /** The event's id, when its line reads as one. */
  id: string | null;
  /** The database's error, and its code (SQLSTATE, SQLITE_…) when it gave one. */
  error: string;
  error_code: string | null;
  /** Whether a copy with its refused text shown quoted was written instead (then the request is counted and billed). */
  salvaged: boolean;
  /** The event's usage line exactly as it was logged (core/usage-line.ts: values in USAGE_COLUMNS order). */
  line: string;
}

/** The file of usage events set aside (infra/usage-dead-letter.ts). */
export interface DeadLetterFile {
  /** Entries in the file: earlier runs' and this run's. */
  readonly count: number;
  /** Appends entries; resolves once they are in the file. */
  append(entries: DeadLetter[]): Promise<void>;
  /**
   * Whether the file holds an entry for this event id (or this line, for an entry without an id): a run that replays
   * the log an earlier run left files an event it filed once only.
   */
  has(idOrLine: string): boolean;
}
