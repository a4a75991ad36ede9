import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { createRuntime } from '../src/runtime.js';
import { insertKey } from '../src/services/key-writes.js';
import { execFileSync } from 'node:child_process';
import { type Child, childEnv, REPO_ROOT, spawnChild, waitForHttp } from './processes.js';

// Tollgate as the bench runs it: its own process (`node --import tsx src/main.ts`, NODE_ENV=production,
// LOG_LEVEL=warn), a temp data dir whose SQLite database holds `keyCount` keys before the server starts, and a
// config file whose only provider is the fake upstream. One of the keys has limits on (LIMITED_KEY_LIMITS).

/**
 * The limits of the bench's limited key: RPM, TPM and a monthly spend limit, as a production key commonly has them,
 * set far above what the bench can spend (a few hundred thousand requests a minute at most, each reserving ~4,100
 * tokens of TPM and ~$0.01 of budget until it settles to its ~17 real tokens), so that every request takes the whole
 * limits path (estimate, reserve, settle) and none is refused.
 */
export const LIMITED_KEY_LIMITS = {
  rate_limits: { max_requests_per_1_minute: 100_000_000, max_tokens_per_1_minute: 1_000_000_000_000 },
  spend_limit: { threshold_amount: 100_000_000, interval: 'month' },
} as const;

export interface TollgateSetup {
  env: Record<string, string>;
  /** The key the single-key runs use (no limits). */
  singleKey: string;
  /** A key with RPM, TPM and a spend limit (LIMITED_KEY_LIMITS), none of them near exhaustion. */
  limitedKey: string;
  /** A random sample of the keys without limits, for runs that rotate among many keys. */
  rotatingKeys: string[];
  /** Every key, for the run that makes Tollgate hold all of them (the RSS measurement). */
  allKeys: string[];
  seedSeconds: number;
}

/** The environment variable that holds the fake upstream's key in the bench's gateway config. */
export const UPSTREAM_KEY_ENV = 'BENCH_UPSTREAM_KEY';

/**
 * Creates the data dir, inserts `keyCount` project keys (the last one limited) in one transaction, and writes the
 * gateway config: `gatewayConfig` when given, else the fake upstream as the one OpenAI-compatible provider.
 */
export async function seedTollgate(dir: string, upstreamPort: number, keyCount: number, sampleSize: number, gatewayConfig?: Record<string, unknown>): Promise<TollgateSetup> {
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'tollgate.config.json');
  const upstreamKey = `sk-bench-upstream-${randomBytes(8).toString('hex')}`;
  const config = gatewayConfig ?? { providers: [{ name: 'fake', base_url: `http://127.0.0.1:${upstreamPort}/v1`, api_key_env: UPSTREAM_KEY_ENV }] };
  writeFileSync(configFile, JSON.stringify(config));
  const started = performance.now();
  const runtime = await createRuntime(loadConfig({ TOLLGATE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }));
  const secrets: string[] = [];
  try {
    const db = runtime.database.db;
    const project = await db.selectFrom('projects').select('id').orderBy('seq').executeTakeFirstOrThrow();
    const owner = await db
      .selectFrom('service_accounts')
      .select('id')
      .where('project_id', '=', project.id)
      .where('is_default', '=', 1)
      .executeTakeFirstOrThrow();
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < keyCount; i++) {
        const { secret } = await insertKey(
          trx,
          runtime.deps,
          {
            kind: 'project',
            orgId: runtime.org.id,
            projectId: project.id,
            name: `bench key ${i}`,
            ownerType: 'service_account',
            ownerId: owner.id,
            permissions: 'all',
            expiresAt: null,
            allowedIps: null,
            allowedModels: null,
            limits: i === keyCount - 1 ? LIMITED_KEY_LIMITS : null,
          },
          { type: 'system', id: null },
        );
        secrets.push(secret);
      }
    });
  } finally {
    await runtime.close();
  }
  const seedSeconds = (performance.now() - started) / 1000;
  return {
    env: {
      HOST: '127.0.0.1',
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_CONFIG: configFile,
      [UPSTREAM_KEY_ENV]: upstreamKey,
      LOG_LEVEL: 'warn',
    },
    singleKey: secrets[0],
    limitedKey: secrets[keyCount - 1],
    rotatingKeys: sample(secrets.slice(0, keyCount - 1), sampleSize),
    allKeys: secrets,
    seedSeconds,
  };
}

function sample<T>(items: T[], n: number): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32LE() % (i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n);
}

/** Writes the seeded keys, one per line, for the bare proxy's key check (the bench's temp dir, owner-only). */
export function writeKeysFile(dir: string, setup: TollgateSetup): string {
  const file = join(dir, 'bare-proxy-keys.txt');
  writeFileSync(file, `${setup.allKeys.join('\n')}\n`, { mode: 0o600 });
  return file;
}

/** Compiles the server (`tsc -p tsconfig.build.json`, the server half of `npm run build`) so dist/ matches the sources. */
export function buildTollgate(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/** Starts Tollgate on `port` with extra node flags (--cpu-prof, --trace-sync-io, …) and waits for /healthz. */
export async function startTollgate(setup: TollgateSetup, port: number, nodeFlags: string[] = []): Promise<{ child: Child; url: string }> {
  // As `npm start` runs it: the compiled build (see buildTollgate), not the TypeScript sources through tsx.
  const child = spawnChild('tollgate', process.execPath, [...nodeFlags, 'dist/main.js'], childEnv({ ...setup.env, PORT: String(port) }));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/healthz`, 60_000);
  return { child, url };
}

/** Counts the usage events Tollgate wrote (after it stopped), as a check that metering kept up with the load. */
export async function countUsageEvents(setup: TollgateSetup): Promise<number> {
  const runtime = await createRuntime(loadConfig({ TOLLGATE_DATA_DIR: setup.env.TOLLGATE_DATA_DIR, LOG_LEVEL: 'warn' }));
  try {
    const row = await runtime.database.db
      .selectFrom('usage_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  } finally {
    await runtime.close();
  }
}
