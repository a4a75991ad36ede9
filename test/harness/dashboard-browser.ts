import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Locator, type Page, type PageScreenshotOptions } from 'playwright-core';
import { describe, it } from 'vitest';
import { startTestServer, type TestServer } from './server.js';

// What the dashboard's browser suites share: Debian's Chromium through playwright-core, the built dashboard
// (dashboard/dist, rebuilt when older than its sources), one server and one page per suite, and axe-core's scan of
// what is on screen in four views (light and dark, 1280 and 375 px). The suites are split in two files that run side by
// side (the whole flow in one file was the longest file of npm test by far): test/dashboard.browser.test.ts (sign-up
// and the keys pages) and test/dashboard-pages.browser.test.ts (usage, limits, settings, failures, members).

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST_INDEX = join(ROOT, 'dashboard', 'dist', 'index.html');
// Screenshots are the docs' pictures (docs/screenshots/, kept in git for the README), taken with UPDATE_SCREENSHOTS=1
// only: nothing reads them in a test, and encoding a full page costs about a second of CPU each.
const SHOTS = join(ROOT, 'docs', 'screenshots');

/** Saves a screenshot for the docs when UPDATE_SCREENSHOTS is set; otherwise does nothing. */
export async function shot(page: Page, name: string, options: Omit<PageScreenshotOptions, 'path'> = {}): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS) await page.screenshot({ ...options, path: join(SHOTS, name) });
}
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const ORG = '/v1/organization';
export const OWNER = { email: 'owner@example.com', password: 'a long owner password' };

/**
 * Declares a browser suite, or, without Chromium, a skipped one (a failing one under CI=true, where a missing browser
 * must not pass unnoticed).
 */
export function describeBrowser(name: string, declare: () => void): void {
  if (existsSync(CHROMIUM)) {
    // One browser, one server: the tests build on each other. Scans of four views each take longer than 30 s.
    describe(name, { timeout: 120_000 }, declare);
    return;
  }
  const reason = `${CHROMIUM} not found: install it with "apt-get install -y chromium" to run the dashboard browser tests`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs Chromium under CI=true', () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`[${name}] skipped: ${reason}`);
    describe.skip(`${name} (skipped: ${reason})`, () => {
      it('skipped', () => {});
    });
  }
}

/** Whether the gateway accepts a key: GET /v1/models answers 200 (401 once revoked). */
export async function keyIsAccepted(t: TestServer, secret: string): Promise<boolean> {
  const res = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
  return res.status === 200;
}

export const chat = (t: TestServer, key: string, content = 'hello', extra: Record<string, unknown> = {}) =>
  fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content }], ...extra }),
  });

export const embed = (t: TestServer, key: string, input: string) =>
  fetch(`${t.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tollgate-echo', input, encoding_format: 'float' }),
  });

/**
 * The axe rules whose findings depend on colours. The dark scheme changes colours only (custom properties holding
 * colours, and colour properties; test/dashboard-dark-scheme.test.ts keeps it so), so in a dark view the page's
 * structure, names, roles and layout are those of the light view of the same width scanned just before: only these
 * rules can find anything new there. The others, run again, would repeat the light view's work (a third of the suites'
 * axe time).
 */
export const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];

const VIEWS = [
  { width: 1280, height: 860, scheme: 'light' as const },
  { width: 1280, height: 860, scheme: 'dark' as const },
  { width: 375, height: 812, scheme: 'light' as const },
  { width: 375, height: 812, scheme: 'dark' as const },
];

interface Violation {
  id: string;
  impact: string | null;
  nodes: string[];
}

/**
 * axe-core over the whole document (run through the DevTools protocol, which the page's CSP does not govern): every
 * rule, or only `rules`.
 */
export async function axe(page: Page, rules?: string[]): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (only) => {
    const options = only ? { resultTypes: ['violations'], runOnly: { type: 'rule', values: only } } : { resultTypes: ['violations'] };
    // biome-ignore lint/suspicious/noExplicitAny: axe-core is injected at run time
    const result = await (window as any).axe.run(document, options);
    return result.violations.map((v: { id: string; impact: string | null; nodes: Array<{ target: string[]; failureSummary: string }> }) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  }, rules);
}

/** The newest modification time of the files the bundle is built from. */
function newestSource(): number {
  const walk = (dir: string): number[] =>
    readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : [statSync(p).mtimeMs];
    });
  const files = [join(ROOT, 'dashboard', 'vite.config.ts'), join(ROOT, 'dashboard', 'precompress.ts'), join(ROOT, 'dashboard', 'index.html')];
  return Math.max(...walk(join(ROOT, 'dashboard', 'src')), ...walk(join(ROOT, 'src', 'core')), ...files.map((f) => statSync(f).mtimeMs));
}

/**
 * Rebuilds dashboard/dist when it is older than its sources. The two browser suites run at once: a lock directory
 * (mkdir is atomic) lets one build while the other waits for it, then finds the bundle fresh.
 */
async function ensureDashboardBuilt(): Promise<void> {
  const lock = join(ROOT, 'dashboard', '.build-lock');
  for (;;) {
    const fresh = () => existsSync(DIST_INDEX) && statSync(DIST_INDEX).mtimeMs >= newestSource();
    if (fresh()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another suite is building (or a build died: a lock older than five minutes is stale).
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > 300_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (fresh()) return;
      // Vitest sets NODE_ENV=test, which would make Vite emit a development bundle.
      execFileSync('npx', ['vite', 'build', '--config', 'dashboard/vite.config.ts'], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, NODE_ENV: 'production' } });
      return;
    } finally {
      rmdirSync(lock);
    }
  }
}

/** One suite's browser, server and page, with what the page did (responses, errors) and what axe found. */
export interface DashboardSession {
  t: TestServer;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /**
   * Every response the page received while `keepResponses` was on (bodies read through the DevTools protocol as they
   * arrive, which costs the browser and the test CPU for each one: a suite turns it off once it has checked them).
   */
  responses: Array<{ method: string; url: string; status: number; body: Promise<string> }>;
  keepResponses: boolean;
  /** Script errors and CSP violations the pages logged. */
  problems: string[];
  /** Every axe violation found, by where it was found. */
  a11y: string[];
  /** How many views were scanned. */
  scans(): number;
  /**
   * Scans what is on screen in the four views (every rule in light, the colour rules in dark); `open` brings it back after
   * each view change (a dialog), `close` ends it.
   */
  scan(label: string, ready: () => Promise<unknown>, open?: () => Promise<unknown>, close?: () => Promise<unknown>): Promise<void>;
  closeDialog(): Promise<void>;
  /** The key table's row whose name link is `name`. */
  row(name: string): Locator;
  close(): Promise<void>;
}

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Builds the dashboard if needed, starts a SQLite server and Chromium, and opens one page (no account yet).
 * `keepResponses`: whether the page's responses and their bodies are kept from the start (see DashboardSession);
 * `env`: the server's environment beside the harness's (a TOLLGATE_CONFIG naming a fake upstream).
 */
export async function openDashboard(opts: { keepResponses?: boolean; env?: Record<string, string> } = {}): Promise<DashboardSession> {
  await ensureDashboardBuilt();
  if (process.env.UPDATE_SCREENSHOTS) mkdirSync(SHOTS, { recursive: true });
  const t = await startTestServer({ name: 'sqlite' }, { env: opts.env });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const responses: DashboardSession['responses'] = [];
  const problems: string[] = [];
  const a11y: string[] = [];
  let scans = 0;
  page.on('response', (r) => {
    if (session.keepResponses) responses.push({ method: r.request().method(), url: r.url(), status: r.status(), body: r.text().catch(() => '') });
  });
  // CSP violations and script errors surface here; the dashboard must produce none.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404|503)/.test(m.text())) {
      problems.push(m.text());
    }
  });
  page.on('pageerror', (e) => problems.push(e.message));
  const session: DashboardSession = {
    keepResponses: opts.keepResponses ?? false,
    t,
    browser,
    context,
    page,
    responses,
    problems,
    a11y,
    scans: () => scans,
    async scan(label, ready, open, close) {
      for (const v of VIEWS) {
        await page.setViewportSize({ width: v.width, height: v.height });
        await page.emulateMedia({ colorScheme: v.scheme });
        if (open) await open();
        await ready();
        for (const found of await axe(page, v.scheme === 'dark' ? COLOUR_RULES : undefined)) a11y.push(`${label} @${v.width}px ${v.scheme}: ${found.id} (${found.impact}) ${found.nodes.join(' | ')}`);
        scans++;
        if (close) await close();
      }
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.emulateMedia({ colorScheme: 'light' });
    },
    async closeDialog() {
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    },
    row: (name) => page.locator('tr', { has: page.getByRole('link', { name, exact: true }) }),
    async close() {
      await browser.close();
      await t.close();
    },
  };
  return session;
}

/** Creates the owner account (with the server's setup token) and signs its page in: the API keys page is shown. */
export async function signInOwner(s: DashboardSession): Promise<void> {
  const res = await fetch(`${s.t.url}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...OWNER, setup_token: s.t.setupToken }),
  });
  if (res.status !== 200) throw new Error(`owner sign-up answered ${res.status}: ${await res.text()}`);
  await s.page.goto(`${s.t.url}/`);
  await s.page.getByLabel('Email').fill(OWNER.email);
  await s.page.getByLabel('Password').fill(OWNER.password);
  await s.page.getByRole('button', { name: 'Sign in' }).click();
  await s.page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
}
