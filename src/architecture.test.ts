import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layering of docs/architecture.md, enforced: every relative import of every source file (tests excluded) must
// point the allowed way. Written down once, here; a new file in a known folder is covered at once, and a new folder
// fails until it is given a layer.

const SRC = import.meta.dirname;

/** The composition roots: the only files that wire adapters, services and shells together. */
const ROOTS = new Set([
  'main.ts',
  'server.ts',
  'runtime.ts',
  'gateway-runtime.ts',
  // The gateway's view of providers added at run time: upstreams built from what a service loads.
  'provider-directory.ts',
  'readiness.ts',
  // The CLI's entry (its `start` command runs main.ts) and its backend (a local runtime and the admin app in process).
  'cli/main.ts',
  'cli/backend.ts',
  // The HTTP shell's context and the dashboard's, built from the runtime.
  'http/app-context.ts',
  'http/dashboard/wiring.ts',
]);

/** What each layer may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  // The admin and session APIs' response shapes, for the server, the CLI and the dashboard (which reads them too).
  contract: ['core'],
  config: ['core'],
  storage: ['core', 'config'],
  infra: ['core', 'config'],
  providers: ['core', 'config'],
  scanner: ['core'],
  services: ['core', 'config', 'storage', 'contract'],
  http: ['core', 'config', 'services', 'contract'],
  cli: ['core', 'config', 'services', 'scanner', 'contract'],
};

/**
 * Imports that still point the wrong way, each with where it is to go. The list only shrinks: an entry that is no
 * longer needed fails the suite too, so it is removed when its import is.
 */
const PENDING: Record<string, string> = {
};

/** The services that parse input themselves, each with why. */
const PARSES_OWN_INPUT: Record<string, string> = {
  'services/validation.ts': 'parseInput itself: the one mapping of a zod failure to an OpenAI-shaped 400',
  'services/query-params.ts': 'parseQuery itself, over parseInput',
  'services/spend-limits.ts': "parseSpendLimitBody, called by the route: a null amount gets a message saying to DELETE instead",
  'services/sign-up.ts': 'a sign-up refused by its schema is audited and throttled like any refused sign-up, after the throttle check',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Relative imports and re-exports of a file, type-only ones included (a type is a dependency too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g), ...text.matchAll(/import\('(\.{1,2}\/[^']+)'\)/g)];
  return found.map((m) => relative(SRC, normalize(join(dirname(file), m[1]))).replace(/\.js$/, '.ts'));
}

const layerOf = (rel: string) => (rel.includes('/') ? rel.split('/')[0] : rel);
const isMigration = (rel: string) => /^storage\/migrations(-[a-z]+)?\.ts$/.test(rel);

function violations(): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file);
    if (ROOTS.has(from)) continue;
    const layer = layerOf(from);
    for (const to of importsOf(file)) {
      const target = layerOf(to);
      const edge = `${from} -> ${to}`;
      if (isMigration(from)) {
        // Frozen history: a migration uses Kysely and the shared migration helpers, nothing of today's code.
        if (!isMigration(to)) out.push(edge);
        continue;
      }
      if (target === layer) continue;
      if (ROOTS.has(to) || !(ALLOWED[layer] ?? []).includes(target)) out.push(edge);
    }
  }
  return out.sort();
}

const DASHBOARD = join(SRC, '..', 'dashboard', 'src');

/** The dashboard's source files (.ts and .tsx), tests excluded. */
function dashboardFiles(dir = DASHBOARD): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return dashboardFiles(p);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** A file's imports of modules by path (relative ones resolved to .ts under src/, or outside it), and whether each is type-only. */
function specifiersOf(file: string): Array<{ target: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  const statics = [...text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s)?[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g)].map((m) => ({ spec: m[3], typeOnly: !!m[2] }));
  const bare = [...text.matchAll(/(?:^|\n)\s*import\s+'(\.{1,2}\/[^']+)'/g), ...text.matchAll(/import\('(\.{1,2}\/[^']+)'\)/g)].map((m) => ({ spec: m[1], typeOnly: false }));
  return [...statics, ...bare].map(({ spec, typeOnly }) => ({ target: relative(SRC, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts'), typeOnly }));
}

const insideSrc = (rel: string) => !rel.startsWith('..');

/**
 * The dashboard's imports of the server: types only from core and contract (the API's shapes), values only from core
 * (pure, browser-safe rules such as core/roles.ts). A type of a service would drag the server's Node-only code into the
 * dashboard's typecheck; a value of one would be bundled into the browser.
 */
function dashboardViolations(): string[] {
  const out: string[] = [];
  for (const file of dashboardFiles()) {
    const from = relative(join(SRC, '..'), file);
    for (const { target, typeOnly } of specifiersOf(file)) {
      if (!insideSrc(target)) continue;
      const layer = layerOf(target);
      const ok = typeOnly ? layer === 'core' || layer === 'contract' : layer === 'core';
      if (!ok) out.push(`${from} -> ${target}${typeOnly ? ' (type)' : ''}`);
    }
  }
  return out.sort();
}

/** Every server file the dashboard reaches, through any chain of imports (its typecheck reads them all). */
function reachedFromDashboard(): string[] {
  const seen = new Set<string>();
  const queue = dashboardFiles().flatMap((f) => specifiersOf(f).map((s) => s.target).filter(insideSrc));
  while (queue.length) {
    const rel = queue.pop() as string;
    if (seen.has(rel)) continue;
    seen.add(rel);
    queue.push(...importsOf(join(SRC, rel)));
  }
  return [...seen].sort();
}

/**
 * The packages a module loads when it runs, through any chain of its value imports (type-only imports are erased):
 * what a worker thread started on it pays for in memory, its isolate loading each on its own.
 */
function packagesLoadedBy(rel: string): string[] {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const queue = [rel];
  while (queue.length) {
    const next = queue.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    const text = readFileSync(join(SRC, next), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s)?[^'";]*?from\s+'([^']+)'/g)) {
      if (m[1]) continue;
      if (m[2].startsWith('.')) queue.push(relative(SRC, normalize(join(dirname(join(SRC, next)), m[2]))).replace(/\.js$/, '.ts'));
      else packages.add(m[2]);
    }
  }
  return [...packages].sort();
}

describe('architecture', () => {
  it('gives every source folder a layer', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((f) => !(f in ALLOWED))).toEqual([]);
    const loose = readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !ROOTS.has(f));
    expect(loose).toEqual([]);
  });

  it('imports only inward, and migrations import no runtime code', () => {
    const found = violations();
    expect(found.filter((edge) => !(edge in PENDING))).toEqual([]);
    expect(Object.keys(PENDING).filter((edge) => !found.includes(edge))).toEqual([]);
  });

  it('runs no query in the HTTP shell: routes call services, which own their queries and transactions', () => {
    // A query is a use of the database handle (deps.database…) or of a query builder on it.
    const query = /\.database\b|\.(selectFrom|insertInto|updateTable|deleteFrom)\(|\bsql`/;
    const offenders = sourceFiles(join(SRC, 'http'))
      .map((f) => relative(SRC, f))
      .filter((rel) => !ROOTS.has(rel) && query.test(readFileSync(join(SRC, rel), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')));
    expect(offenders).toEqual([]);
    expect(query.test('ctx.deps.database.db.selectFrom("x")')).toBe(true);
  });

  it('parses request input at the edge: routes parse with the schemas their services export, services take typed values', () => {
    // A service that parsed its own input took `unknown`: its input type was hidden from its route, the CLI and the
    // tests, and a caller inside the server (sign-up adding a member) had its already-parsed values parsed again.
    const parses = /\bparse(?:Input|Query)\s*[<(]/;
    const offenders = sourceFiles(join(SRC, 'services'))
      .map((f) => relative(SRC, f))
      .filter((rel) => !(rel in PARSES_OWN_INPUT) && parses.test(readFileSync(join(SRC, rel), 'utf8')));
    expect(offenders).toEqual([]);
    // Each exception still parses (or the entry is stale), and the rule is not vacuous: the routes do the parsing.
    expect(Object.keys(PARSES_OWN_INPUT).filter((rel) => !parses.test(readFileSync(join(SRC, rel), 'utf8')))).toEqual([]);
    expect(parses.test(readFileSync(join(SRC, 'http', 'admin', 'projects.ts'), 'utf8'))).toBe(true);
  });

  it('asks whether a value is a promise in one place only: core/maybe-promise.ts', () => {
    const asks = /instanceof Promise\b|\b([A-Z]\w*(?:<[^<>]*>)?(?: \| null)?) \| Promise<\1>/;
    const offenders = sourceFiles(SRC)
      .map((f) => relative(SRC, f))
      .filter((rel) => rel !== 'core/maybe-promise.ts' && asks.test(readFileSync(join(SRC, rel), 'utf8')));
    expect(offenders).toEqual([]);
    expect(asks.test('x instanceof Promise ? await x : x')).toBe(true);
    expect(asks.test('get(): KeyRecord | null | Promise<KeyRecord | null>')).toBe(true);
  });

  it('lets the dashboard import only types of core and contract, and values of core only', () => {
    expect(dashboardViolations()).toEqual([]);
    // Not vacuous: the dashboard does import the server's types and its role rules.
    const reached = reachedFromDashboard();
    expect(reached).toContain('contract/api-keys.ts');
    expect(reached).toContain('core/roles.ts');
  });

  it('reaches no server code that needs Node or a package from the dashboard (what the browser bundle and its typecheck read)', () => {
    const offenders = reachedFromDashboard().filter((rel) => /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'(?!\.{1,2}\/)[^']+'/.test(readFileSync(join(SRC, rel), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('spells the admin API\'s paths in one dashboard module only (api-client.ts)', () => {
    const offenders = dashboardFiles()
      .filter((f) => !f.endsWith(join('src', 'api-client.ts')))
      .filter((f) => readFileSync(f, 'utf8').includes('/v1/organization'))
      .map((f) => relative(DASHBOARD, f));
    expect(offenders).toEqual([]);
  });

  it('catches a wrong import when there is one (the check is not vacuous)', () => {
    expect(importsOf(join(SRC, 'services', 'limits-guard.ts')).length).toBeGreaterThan(0);
    expect(layerOf('core/ports.ts')).toBe('core');
    expect(ALLOWED.core.includes('http')).toBe(false);
  });

  it('loads only SQLite in the usage worker thread (its isolate loads every module again: Kysely alone is ~3 MB of heap)', () => {
    expect(packagesLoadedBy('storage/sqlite-usage-worker.ts')).toEqual(['better-sqlite3', 'node:worker_threads']);
    // Not vacuous: the PostgreSQL sink does load Kysely through the same rollups.
    expect(packagesLoadedBy('storage/postgres-usage-sink.ts')).toContain('kysely');
  });

  it('names only files that exist in docs/architecture.md', () => {
    const doc = readFileSync(join(SRC, '..', 'docs', 'architecture.md'), 'utf8');
    const named = [...doc.matchAll(/`((?:core|contract|config|storage|infra|providers|services|http|cli|scanner)\/[a-z0-9/.-]+\.ts)`/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter((f) => !existsSync(join(SRC, f)))).toEqual([]);
  });
});
