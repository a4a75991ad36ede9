import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from './config/config.js';
import type { PasswordHasher, UsageSink } from './core/ports.js';
import { argon2Hasher } from './infra/argon2-hasher.js';
import { AesGcmCipher } from './infra/aes-gcm-cipher.js';
import { forgetServerSecretFile, serverSecretFile } from './infra/server-secret-file.js';
import { serverSecretVerifier } from './infra/secret-verifier.js';
import { checkServerSecret, resealFirstFormat, type SealedSecretCiphers, type ServerSecretCheck } from './services/sealed-secrets.js';
import { ChangeFeed } from './services/change-feed.js';
import { ChangeFanout } from './infra/change-fanout.js';
import type { RedisChangeBus } from './infra/redis-change-bus.js';
import { KeyCache } from './infra/key-cache.js';
import { ensureInitialized, type Organization } from './services/bootstrap.js';
import { revokeFormerOwnersAdminKeys } from './services/users.js';
import type { ServiceDeps } from './services/context.js';
import { loadKeyRecord } from './services/key-lookup.js';
import { LastUsedTracker } from './services/last-used.js';
import { type Database, openDatabase } from './storage/database.js';
import { postgresUsageSink } from './storage/postgres-usage-sink.js';
import { sqliteUsageSink } from './storage/sqlite-usage-sink.js';

/** Everything both the server and the CLI need: database (migrated), services, caches, organization. */
export interface Runtime {
  config: Config;
  database: Database;
  deps: ServiceDeps;
  keyCache: KeyCache;
  /** Every cache that must hear of key and project changes (key cache, limit policies, …). */
  caches: ChangeFanout;
  /** Redis broadcast of changes to other instances, when REDIS_URL is set. */
  bus: RedisChangeBus | null;
  changeFeed: ChangeFeed;
  /** Where usage events, keys' last-used times and new networks are written: the one usage write path. */
  usageSink: UsageSink;
  lastUsed: LastUsedTracker;
  org: Organization;
  orgCreated: boolean;
  secret: string;
  /** The ciphers of what is sealed under the secret: runtime providers' keys, webhook signing secrets. */
  ciphers: SealedSecretCiphers;
  close(): Promise<void>;
}

/** Where a background error came from. */
export type BackgroundSource = 'change-feed' | 'change-bus' | 'last-used';

/**
 * The server secret: TOLLGATE_SECRET, or one generated into the data dir (mode 0600) on first start; a file there too
 * short to be one is refused (infra/server-secret-file.ts).
 */
export function loadServerSecret(config: Pick<Config, 'secret' | 'dataDir'>): string {
  return serverSecretOf(config).value;
}

/** The server secret and where it came from (to say which one a database refused). */
interface ServerSecret {
  value: string;
  /** The data dir's secret file, when TOLLGATE_SECRET is not set; `created` when this start made it. */
  file: { path: string; created: boolean } | null;
}

function serverSecretOf(config: Pick<Config, 'secret' | 'dataDir'>): ServerSecret {
  if (config.secret) return { value: config.secret, file: null };
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { secret, file, created } = serverSecretFile(config.dataDir);
  return { value: secret, file: { path: resolve(file), created } };
}

/** A start refused because its server secret is not the database's: said in words main.ts and the CLI print as they are. */
export class ServerSecretMismatchError extends Error {
  readonly readable = true;
}

/** Why the database refused the secret, naming where it came from (never the secret itself). */
function mismatchMessage(secret: ServerSecret, check: Exclude<ServerSecretCheck, 'matches' | 'recorded'>): string {
  const which = !secret.file
    ? 'TOLLGATE_SECRET'
    : secret.file.created
      ? `the new server secret made in ${secret.file.path} (TOLLGATE_SECRET is not set, and that data directory had none; not kept)`
      : `the server secret in ${secret.file.path} (TOLLGATE_SECRET is not set)`;
  const what =
    check === 'differs'
      ? `${which} is not the server secret this database was set up with`
      : `${which} opens none of the runtime providers' keys and webhook signing secrets sealed in this database (set up before its server secret was recorded)`;
  return (
    `${what}: set TOLLGATE_SECRET to the secret of the server that uses this database${secret.file ? ", or TOLLGATE_DATA_DIR to that server's data directory" : ''}. ` +
    'Every server and CLI on one database needs the same secret: what is sealed under one does not open under another.'
  );
}

/** Opens storage, migrates, initialises the organization on first use, and wires the services. */
export async function createRuntime(
  config: Config,
  opts: {
    schema?: string;
    clock?: () => number;
    /** Errors of background work that retries by itself (change feed, Redis change bus, last-used flush): for the log. */
    onBackgroundError?: (source: BackgroundSource, err: unknown) => void;
    /**
     * Whether SQLite's usage writes go to a worker thread (default) or stay on the event loop: a CLI command writes
     * little (a last-used time at most) and needs no thread of its own.
     */
    usageWorker?: boolean;
    /** Account passwords' hasher: Argon2id at OWASP's profile unless given (the test harness gives a cheaper one). */
    passwords?: PasswordHasher;
  } = {},
): Promise<Runtime> {
  const serverSecret = serverSecretOf(config);
  const secret = serverSecret.value;
  const onError = opts.onBackgroundError ?? (() => {});
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, schema: opts.schema });
  const ciphers: SealedSecretCiphers = Object.freeze({
    providerCredentials: AesGcmCipher.forProviderCredentials(secret),
    webhookSecrets: AesGcmCipher.forWebhookSecrets(secret),
  });
  // Server and CLI alike: a secret other than the database's is refused before anything is sealed under it.
  try {
    const check = await checkServerSecret(database, serverSecretVerifier(secret), ciphers);
    if (check === 'differs' || check === 'opens_nothing') throw new ServerSecretMismatchError(mismatchMessage(serverSecret, check));
    await resealFirstFormat(database, ciphers);
  } catch (err) {
    await database.close();
    if (serverSecret.file?.created) forgetServerSecretFile(serverSecret.file.path, secret);
    throw err;
  }
  const clock = opts.clock ?? Date.now;
  const keyCache = new KeyCache((hash) => loadKeyRecord(database, hash), {
    max: config.keyCacheSize,
    negativeTtlMs: 5000,
    clock,
  });
  // Caches hear every change (local writes, the database feed, other instances); `changes` also broadcasts.
  const caches = new ChangeFanout();
  caches.add(keyCache);
  const changes = new ChangeFanout();
  changes.add(caches);
  // ioredis (~2 MB of heap once loaded) is loaded only when Redis is configured.
  const bus = config.redisUrl ? new (await import('./infra/redis-change-bus.js')).RedisChangeBus(config.redisUrl, caches, (err) => onError('change-bus', err)) : null;
  if (bus) changes.add(bus);
  const deps: ServiceDeps = Object.freeze({ database, clock, randomBytes: (n: number) => randomBytes(n), changes, passwords: opts.passwords ?? argon2Hasher() });
  const { org, created } = await ensureInitialized(deps);
  // Admin keys of owners demoted before demotion revoked them (services/users.ts) end now.
  await revokeFormerOwnersAdminKeys(deps, org.id);
  const changeFeed = new ChangeFeed(database, caches, { intervalMs: config.changePollMs, clock, onError: (err) => onError('change-feed', err) });
  // The one usage write path, picked by the database; nothing is rebound later.
  const usageSink = database.sqlite
    ? sqliteUsageSink(database, config.gateway.prices, { worker: opts.usageWorker ?? true })
    : postgresUsageSink(database, config.gateway.prices);
  const lastUsed = new LastUsedTracker(usageSink, undefined, (err) => onError('last-used', err));
  return Object.freeze({
    config,
    database,
    deps,
    keyCache,
    caches,
    bus,
    changeFeed,
    usageSink,
    lastUsed,
    org,
    orgCreated: created,
    secret,
    ciphers,
    async close() {
      changeFeed.stop();
      await bus?.close();
      await lastUsed.stop().catch(() => {});
      await usageSink.close();
      await database.close();
    },
  });
}
