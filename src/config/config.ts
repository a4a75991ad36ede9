import { z } from 'zod';
import { type GatewayConfig, KEY_CHARACTERS, KEY_CHARACTERS_PROBLEM, ignoredKeyWarnings, loadGatewayConfig } from './gateway-config.js';
import { IpEntryError, parseIpEntry } from '../core/ip-rules.js';
import { baseUrlProblem } from '../core/provider-url.js';
import { MAX_TIMER_MS } from '../core/timers.js';
import { unknownSettingWarnings } from './env-names.js';

// Every setting and its default in one place. Read once in main.ts / the CLI; frozen; passed in.

export { MAX_TIMER_MS };

/** What a refused value is shown as: itself when short and printable (a number mistyped), else only its length. */
const shown = (v: string) => (/^[\x20-\x7e]{0,24}$/.test(v) ? `"${v}"` : `a value of ${v.length} characters`);

/**
 * A whole-number setting: decimal digits only (Number() took " " as 0, and 0x10 and 1e3), from `min` to `max`; unset
 * or empty: `def`.
 */
const intFrom = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
      if (!(n >= min && n <= max)) {
        ctx.addIssue({ code: 'custom', message: `expected a whole number from ${min} to ${max}, got ${shown(v)}` });
        return z.NEVER;
      }
      return n;
    });

/**
 * A text setting whose empty or blank value is unset: an env file's `X=` from an unset variable (`HOST=` listened on
 * every interface). A provider's base URL read so is checked as the config file's base_url is, never shown back, when
 * it is used: with its provider's key set (see the schema's refinement below; a value nothing reads does not stop a
 * start).
 */
const textOr = (def: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? def : v));


/** OPENAI_API_KEY and ANTHROPIC_API_KEY: empty is unset; else a key a header can carry, never shown when refused. */
const providerKey = z
  .string()
  .optional()
  .refine((v) => !v || KEY_CHARACTERS.test(v), KEY_CHARACTERS_PROBLEM);

/**
 * DATABASE_URL: empty is unset (SQLite in the data dir); else postgres:// or postgresql:// (a URL that can be read) or
 * sqlite:PATH, refused here rather than at the database's opening, with a stack trace; never shown (it holds a password).
 */
const databaseUrl = z
  .string()
  .optional()
  .superRefine((v, ctx) => {
    if (!v) return;
    const problem = databaseUrlProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

function databaseUrlProblem(url: string): string | null {
  if (url.startsWith('sqlite:')) return url.length > 'sqlite:'.length ? null : 'sqlite:PATH names a file (sqlite:/var/lib/tollgate/tollgate.db, or sqlite::memory:)';
  if (!/^postgres(ql)?:\/\//.test(url)) return 'must start with postgres:// or postgresql:// (or sqlite:PATH); the value is not shown: it may hold a password';
  try {
    new URL(url);
  } catch {
    return 'not a URL that can be read (the value is not shown: it may hold a password)';
  }
  return null;
}

/** The base URL variables, each with the key variable that makes Tollgate use it. */
const BASE_URL_USED_WITH = [
  ['OPENAI_BASE_URL', 'OPENAI_API_KEY'],
  ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY'],
] as const;

/** The most days TOLLGATE_USAGE_RETENTION_DAYS takes (a hundred years); `forever` keeps raw usage for good. */
const MAX_RETENTION_DAYS = 36_500;

/**
 * TOLLGATE_USAGE_RETENTION_DAYS: whole days, 1 to 36,500 (default 35), or `forever`. 0 is refused rather than read as
 * "none" or "forever": with no raw events there are no minute buckets and no refusal reasons, and `forever` says
 * what it means.
 */
const retentionDays = z
  .string()
  .optional()
  .transform((v, ctx): number | null => {
    if (v === undefined || v === '') return 35;
    if (v.trim().toLowerCase() === 'forever') return null;
    const n = /^\d{1,6}$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!(n >= 1 && n <= MAX_RETENTION_DAYS)) {
      ctx.addIssue({ code: 'custom', message: `expected a whole number of days from 1 to ${MAX_RETENTION_DAYS}, or "forever", got "${v}"` });
      return z.NEVER;
    }
    return n;
  });

/** proxy-addr's names for address families, which TOLLGATE_TRUST_PROXY may use besides addresses and ranges. */
const PROXY_PRESETS = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Why a TOLLGATE_TRUST_PROXY list is refused: its entries are addresses and CIDR ranges under the same rules as IP
 * allowlists (core/ip-rules.ts: `010.0.0.1` would trust 8.0.0.1), or proxy-addr's presets.
 */
function trustProxyProblem(list: string): string | null {
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (PROXY_PRESETS.has(entry)) continue;
    let canonical: string;
    try {
      canonical = parseIpEntry(entry);
    } catch (err) {
      return `${err instanceof IpEntryError ? err.message : `"${entry}" is not an IP address or CIDR range`} (or loopback, linklocal, uniquelocal)`;
    }
    // A range of every address (found by review: it passed here, then proxy-addr threw at start with a stack trace).
    if (canonical.endsWith('/0')) {
      return `"${entry}" would trust every address as a proxy, letting any client name its own address (X-Forwarded-For): list the proxies' addresses or ranges`;
    }
  }
  return null;
}

/**
 * What is wrong with a REDIS_URL, or null: a redis:// or rediss:// URL with a host and a port from 1 to 65,535 (or a
 * Unix socket's absolute path, which ioredis also takes). Checked here, never shown back (it may hold a password):
 * found by a review, one that did not parse (a generated password with '#', '/' or '?') failed the start with an error
 * that carried it whole into the log.
 */
export function redisUrlProblem(value: string): string | null {
  if (value.startsWith('/')) return null;
  const form = 'redis://user:password@host:6379/0, its port from 1 to 65535';
  const hint = 'special characters in the user name or password (# / ? @ : % and spaces) must be percent-encoded, e.g. %23 for #';
  const unshown = '(the value is not shown: it may hold a password)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL of the form ${form}: ${hint} ${unshown}`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `must start with redis:// or rediss:// ${unshown}`;
  if (url.hostname === '') return `names no host (${form}): ${hint} ${unshown}`;
  if (url.port !== '' && !(Number(url.port) >= 1 && Number(url.port) <= 65_535)) return `has a port outside 1 to 65535 ${unshown}`;
  // A password with '/', '?' or '#' after digits parses as a host, a port and the rest: a path is a database number,
  // and nothing of the value follows a '#' or holds an '@' in its query.
  if (!/^\/?\d*$/.test(url.pathname) || url.search.includes('@') || url.hash !== '') {
    return `is not of the form ${form}: ${hint} ${unshown}`;
  }
  return null;
}

const EnvSchema = z.object({
  HOST: textOr('127.0.0.1'),
  PORT: intFrom(8484, 0, 65_535),
  TOLLGATE_DATA_DIR: textOr('./data'),
  DATABASE_URL: databaseUrl,
  REDIS_URL: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = v ? redisUrlProblem(v) : null;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  // Empty is unset (an env file's `TOLLGATE_SECRET=`): one is generated into the data dir, as with none.
  TOLLGATE_SECRET: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || v.length >= 32, 'TOLLGATE_SECRET must be at least 32 characters'),
  // Unset or empty: a token is generated at first start. Set: long enough that guessing it is hopeless even unthrottled,
  // and printable without spaces, so it survives env files and copy-paste unchanged.
  TOLLGATE_SETUP_TOKEN: z
    .string()
    .optional()
    .refine((v) => !v || /^[\x21-\x7e]{20,256}$/.test(v), 'TOLLGATE_SETUP_TOKEN must be 20 to 256 printable ASCII characters without spaces'),
  TOLLGATE_CONFIG: z.string().optional(),
  TOLLGATE_TRUST_PROXY: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      const problem = v ? trustProxyProblem(v) : null;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  TOLLGATE_METRICS_TOKEN: z.string().optional(),
  TOLLGATE_KEY_CACHE_SIZE: intFrom(100_000, 1, 100_000_000),
  TOLLGATE_CHANGE_POLL_MS: intFrom(1000, 1, MAX_TIMER_MS),
  TOLLGATE_BODY_LIMIT: intFrom(10 * 1024 * 1024, 1, 2 ** 31 - 1),
  TOLLGATE_BODY_IDLE_TIMEOUT_MS: intFrom(60_000, 1, MAX_TIMER_MS),
  TOLLGATE_CLIENT_STALL_TIMEOUT_MS: intFrom(30_000, 0, MAX_TIMER_MS),
  TOLLGATE_SHUTDOWN_GRACE_MS: intFrom(10_000, 0, MAX_TIMER_MS),
  TOLLGATE_RATE_LIMIT_FAILURE: z.enum(['open', 'closed']).default('open'),
  TOLLGATE_BUDGET_FAILURE: z.enum(['open', 'closed']).default('closed'),
  TOLLGATE_DEFAULT_MAX_TOKENS: intFrom(1024, 1, 100_000_000),
  TOLLGATE_USAGE_FLUSH_MS: intFrom(1000, 1, MAX_TIMER_MS),
  TOLLGATE_USAGE_GROUP_MS: intFrom(5, 0, MAX_TIMER_MS),
  TOLLGATE_USAGE_RETENTION_DAYS: retentionDays,
  TOLLGATE_ANOMALY_AUTO_SUSPEND: z.enum(['true', 'false']).default('false'),
  TOLLGATE_ANOMALY_RATE_FACTOR: intFrom(10, 1, 1_000_000),
  TOLLGATE_ANOMALY_MIN_RATE: intFrom(100, 0, 1_000_000_000),
  TOLLGATE_ANOMALY_WARMUP_MINUTES: intFrom(10, 0, 1_000_000),
  TOLLGATE_USAGE_MAX_IN_MEMORY: intFrom(100_000, 1, 100_000_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OPENAI_API_KEY: providerKey,
  OPENAI_BASE_URL: textOr('https://api.openai.com/v1'),
  ANTHROPIC_API_KEY: providerKey,
  ANTHROPIC_BASE_URL: textOr('https://api.anthropic.com/v1'),
});

/**
 * The base URL variables' problems, read from the environment itself (beside the schema's, which skips an object's
 * refinements once one of its members failed: a bad LOG_LEVEL hid a bad OPENAI_BASE_URL).
 */
function baseUrlProblems(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const [urlName, keyName] of BASE_URL_USED_WITH) {
    const url = env[urlName];
    if (!env[keyName] || url === undefined || url.trim() === '') continue;
    const problem = baseUrlProblem(url);
    if (problem) out.push(`  ${urlName}: ${problem} (the value is not shown: it may hold a key)`);
  }
  return out;
}

export type Config = Readonly<{
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  secret: string | undefined;
  /** The setup token of the first (owner) sign-up, when the operator sets it; otherwise one is generated. */
  setupToken: string | undefined;
  configFile: string | undefined;
  trustProxy: string | undefined;
  metricsToken: string | undefined;
  keyCacheSize: number;
  changePollMs: number;
  bodyLimit: number;
  /** A request body that sends nothing for this long is cut (408), as nginx's client_body_timeout does. */
  bodyIdleTimeoutMs: number;
  /**
   * A client that takes no bytes of its answer for this long while the gateway holds output for it is cut (its socket
   * destroyed, the upstream released, metered as a hang-up); 0 never. Without it, a client that never reads holds a
   * provider's pooled connection until the request's total deadline.
   */
  clientStallTimeoutMs: number;
  /** How long shutdown waits for in-flight requests before closing connections. */
  shutdownGraceMs: number;
  /** When the shared limit store (Redis) fails: serve and count locally (open) or answer 503 (closed). */
  rateLimitFailure: 'open' | 'closed';
  budgetFailure: 'open' | 'closed';
  /** Output tokens reserved for a request that names no max_tokens. */
  defaultMaxTokens: number;
  /** Usage events are written at least this often. */
  usageFlushMs: number;
  /** Usage events gather this long before they go to the write-ahead log as one group (the bound of a crash's loss). */
  usageGroupMs: number;
  /** Usage events held in memory while the database is unreachable; beyond, they go to a spill file. */
  usageMaxInMemory: number;
  /** Days raw usage events are kept (the rollups are kept for good); null: forever. */
  usageRetentionDays: number | null;
  anomaly: { autoSuspend: boolean; rateFactor: number; minRate: number; warmupMinutes: number };
  logLevel: string;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string;
  anthropicApiKey: string | undefined;
  anthropicBaseUrl: string;
  /**
   * What the start should warn of without refusing: TOLLGATE_ variables that are no setting (misspelt ones), and
   * OPENAI_API_KEY or ANTHROPIC_API_KEY set beside a config-file provider of that name that does not read it.
   */
  warnings: readonly string[];
  /** Providers, routes, aliases and prices (the config file, OPENAI_API_KEY and ANTHROPIC_API_KEY), resolved once and deep-frozen. */
  gateway: GatewayConfig;
}>;

/** Validates the environment into a frozen Config; throws a readable error on bad values. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  const urls = baseUrlProblems(env);
  if (!parsed.success || urls.length > 0) {
    const lines = [...(parsed.success ? [] : parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)), ...urls];
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const settings = {
    host: e.HOST,
    port: e.PORT,
    dataDir: e.TOLLGATE_DATA_DIR,
    databaseUrl: e.DATABASE_URL || undefined,
    redisUrl: e.REDIS_URL || undefined,
    secret: e.TOLLGATE_SECRET,
    setupToken: e.TOLLGATE_SETUP_TOKEN || undefined,
    configFile: e.TOLLGATE_CONFIG,
    trustProxy: e.TOLLGATE_TRUST_PROXY,
    metricsToken: e.TOLLGATE_METRICS_TOKEN,
    keyCacheSize: e.TOLLGATE_KEY_CACHE_SIZE,
    changePollMs: e.TOLLGATE_CHANGE_POLL_MS,
    bodyLimit: e.TOLLGATE_BODY_LIMIT,
    bodyIdleTimeoutMs: e.TOLLGATE_BODY_IDLE_TIMEOUT_MS,
    clientStallTimeoutMs: e.TOLLGATE_CLIENT_STALL_TIMEOUT_MS,
    shutdownGraceMs: e.TOLLGATE_SHUTDOWN_GRACE_MS,
    rateLimitFailure: e.TOLLGATE_RATE_LIMIT_FAILURE,
    budgetFailure: e.TOLLGATE_BUDGET_FAILURE,
    defaultMaxTokens: e.TOLLGATE_DEFAULT_MAX_TOKENS,
    usageFlushMs: e.TOLLGATE_USAGE_FLUSH_MS,
    usageGroupMs: e.TOLLGATE_USAGE_GROUP_MS,
    usageMaxInMemory: e.TOLLGATE_USAGE_MAX_IN_MEMORY,
    usageRetentionDays: e.TOLLGATE_USAGE_RETENTION_DAYS,
    anomaly: {
      autoSuspend: e.TOLLGATE_ANOMALY_AUTO_SUSPEND === 'true',
      rateFactor: e.TOLLGATE_ANOMALY_RATE_FACTOR,
      minRate: e.TOLLGATE_ANOMALY_MIN_RATE,
      warmupMinutes: e.TOLLGATE_ANOMALY_WARMUP_MINUTES,
    },
    logLevel: e.LOG_LEVEL,
    openaiApiKey: e.OPENAI_API_KEY || undefined,
    openaiBaseUrl: e.OPENAI_BASE_URL,
    anthropicApiKey: e.ANTHROPIC_API_KEY || undefined,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL,
  };
  // The environment is not kept: only the secrets the gateway config names are resolved from it, into that config.
  const gateway = loadGatewayConfig(settings, env);
  const warnings = [...unknownSettingWarnings(env, Object.keys(EnvSchema.shape)), ...ignoredKeyWarnings(settings, gateway)];
  return deepFreeze({ ...settings, warnings, gateway });
}

/** Freezes a plain-data tree (config holds no class instances), so no holder can change what another reads. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
