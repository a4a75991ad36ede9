import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// Drives the built dashboard (dashboard/dist) in Debian's Chromium: sign-up, the create → show once → revoke
// flow of a key, and that the secret is nowhere once its dialog closed. Skips without /usr/bin/chromium,
// except under CI=true where a missing browser fails the run.

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_INDEX = join(ROOT, 'dashboard', 'dist', 'index.html');
// Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1 (kept in git for the README), else to a temp dir.
const SHOTS = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(tmpdir(), 'tollgate-screenshots');
const hasChromium = existsSync(CHROMIUM);
const isCI = process.env.CI === 'true';

const OWNER = { email: 'owner@example.com', password: 'a long owner password' };
const KEY_NAME = 'ci-key';

/** Whether the gateway accepts a key: GET /v1/models answers 200 (401 once revoked). */
async function keyIsAccepted(t: TestServer, secret: string): Promise<boolean> {
  const res = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } });
  return res.status === 200;
}

if (!hasChromium) {
  const reason = `${CHROMIUM} not found: install it with "apt-get install -y chromium" to run the dashboard browser test`;
  if (isCI) {
    describe('dashboard in a browser', () => {
      it('needs Chromium under CI=true', () => {
        throw new Error(reason);
      });
    });
  } else {
    console.warn(`[dashboard.browser.test] skipped: ${reason}`);
    describe.skip(`dashboard in a browser (skipped: ${reason})`, () => {
      it('skipped', () => {});
    });
  }
} else {
  describe('dashboard in a browser', () => {
    let t: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let secret = '';
    const responses: Array<{ method: string; url: string; status: number; body: Promise<string> }> = [];
    const problems: string[] = [];

    beforeAll(async () => {
      if (!existsSync(DIST_INDEX)) {
        // Vitest sets NODE_ENV=test, which would make Vite emit a development bundle.
        execFileSync('npx', ['vite', 'build', '--config', 'dashboard/vite.config.ts'], {
          cwd: ROOT,
          stdio: 'pipe',
          env: { ...process.env, NODE_ENV: 'production' },
        });
      }
      mkdirSync(SHOTS, { recursive: true });
      t = await startTestServer({ name: 'sqlite' });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-quic',
          '--no-first-run',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
      context.setDefaultTimeout(8000);
      page = await context.newPage();
      page.on('response', (r) => {
        responses.push({ method: r.request().method(), url: r.url(), status: r.status(), body: r.text().catch(() => '') });
      });
      // CSP violations and script errors surface here; the dashboard must produce none.
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (401|404)/.test(m.text())) {
          problems.push(m.text());
        }
      });
      page.on('pageerror', (e) => problems.push(e.message));
    });

    afterAll(async () => {
      await browser?.close();
      await t?.close();
    });

    it('serves the dashboard with a strict CSP and no inline script', async () => {
      const res = await fetch(`${t.url}/`);
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    });

    it('signs up the first account as owner and lands on API keys', async () => {
      const start = Date.now();
      await page.goto(`${t.url}/`);
      await page.getByRole('heading', { name: 'Create the owner account' }).waitFor();
      console.info(`[dashboard.browser.test] first load to interactive sign-up form: ${Date.now() - start} ms`);
      await page.screenshot({ path: join(SHOTS, 'sign-up-owner.png') });
      // The form says where the setup token is, and refuses to go on without it.
      await expect(page.getByText('saved as setup-token in its data directory').isVisible()).resolves.toBe(true);
      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password').fill(OWNER.password);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByText('Enter the setup token').waitFor();
      await page.getByLabel('Setup token').fill('not-the-setup-token-0000000000');
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByText('Incorrect setup token.').waitFor();
      await page.getByLabel('Setup token').fill(t.setupToken as string);
      await page.getByRole('button', { name: 'Create account' }).click();
      await page.getByRole('link', { name: 'API keys' }).waitFor();
      for (const name of ['API keys', 'Usage', 'Limits', 'Settings']) {
        await expect(page.getByRole('link', { name, exact: true }).count()).resolves.toBe(1);
      }
      await page.getByRole('heading', { name: 'Create your first secret key' }).waitFor();
      const quickstart = await page.locator('.quickstart').textContent();
      expect(quickstart).toContain(`${t.url}/v1`);
      await page.screenshot({ path: join(SHOTS, 'api-keys-empty.png'), fullPage: true });
    });

    it('creates a key, shows its secret once in the dialog, and the key works', async () => {
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('button', { name: 'Create new secret key' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('heading', { name: 'Create new secret key' }).waitFor();
      await dialog.getByLabel('Name').fill(KEY_NAME);
      await page.screenshot({ path: join(SHOTS, 'create-key-dialog.png') });
      await dialog.getByRole('button', { name: 'Create secret key' }).click();
      const secretField = dialog.getByTestId('secret');
      await secretField.waitFor();
      secret = await secretField.inputValue();
      expect(secret).toMatch(/^sk-tg-[0-9A-Za-z]{46}$/);
      await expect(dialog.getByRole('button', { name: 'Copy' }).isVisible()).resolves.toBe(true);
      await expect(dialog.getByText("you won't be able to view it again").isVisible()).resolves.toBe(true);
      await page.screenshot({ path: join(SHOTS, 'create-key-secret.png'), mask: [secretField] });
      await dialog.getByRole('button', { name: 'Copy' }).click();
      await dialog.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

      expect(await keyIsAccepted(t, secret)).toBe(true);

      await dialog.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      const row = page.locator('tr', { has: page.getByRole('rowheader', { name: KEY_NAME }) });
      await row.waitFor();
      expect(await row.textContent()).toMatch(/Active/);
      expect(await row.textContent()).toContain(`sk-tg-…${secret.slice(-4)}`);
      await page.screenshot({ path: join(SHOTS, 'api-keys.png'), fullPage: true });
    });

    it('revokes the key from its trash button; the row shows revoked and the key is refused', async () => {
      await page.getByRole('button', { name: `Revoke ${KEY_NAME}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke secret key' });
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Revoke key' }).click();
      await dialog.waitFor({ state: 'detached' });
      const row = page.locator('tr', { has: page.getByRole('rowheader', { name: KEY_NAME }) });
      await row.getByText('Revoked').waitFor();
      await expect(page.getByRole('button', { name: `Revoke ${KEY_NAME}` }).count()).resolves.toBe(0);
      expect(await keyIsAccepted(t, secret)).toBe(false);
    });

    it('leaves the secret nowhere once its dialog closed: not in the page, storage, or any other response', async () => {
      const html = await page.content();
      expect(html).not.toContain(secret);
      expect(html).not.toContain(secret.slice(6, 30));
      const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      expect(storage).not.toContain(secret.slice(6));
      const bodies = await Promise.all(responses.map(async (r) => ({ ...r, text: await r.body })));
      const creates = bodies.filter((r) => r.method === 'POST' && /\/api_keys$/.test(new URL(r.url).pathname));
      expect(creates).toHaveLength(1);
      expect(creates[0].text).toContain(secret);
      const leaks = bodies.filter((r) => r !== creates[0] && r.text.includes(secret.slice(6)));
      expect(leaks.map((r) => `${r.method} ${r.url}`)).toEqual([]);
      // Later reads of the key list came back without it.
      expect(bodies.filter((r) => r.method === 'GET' && /\/api_keys/.test(r.url)).length).toBeGreaterThan(1);
    });

    it('closes the create dialog with Escape and returns focus to its button', async () => {
      const button = page.getByRole('button', { name: 'Create new secret key' });
      await button.click();
      await page.getByRole('dialog').waitFor();
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await expect(button.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    });

    it('shows a banner for a key disabled because it was exposed', async () => {
      const k = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'leaked-key' } })).body;
      const report = await t.api('POST', '/v1/organization/api_keys/report_exposed', { body: { reports: [{ token: k.value, url: 'https://example.com/leak.env' }] } });
      expect(report.body.data[0].label).toBe('true_positive');
      await page.reload();
      const banner = page.locator('.banner-danger');
      await banner.getByText('leaked-key').waitFor();
      await expect(banner.textContent()).resolves.toContain('https://example.com/leak.env');
      const row = page.locator('tr', { has: page.getByRole('rowheader', { name: 'leaked-key' }) });
      await row.getByText('Exposed').waitFor();
    });

    it('keeps the page on reload', async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
      await page.reload();
      await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
      expect(new URL(page.url()).hash).toMatch(/^#\/settings/);
      await page.getByRole('heading', { name: 'Members', exact: true }).waitFor();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      await page.getByRole('rowheader', { name: 'api_key.deleted' }).first().waitFor();
      await page.screenshot({ path: join(SHOTS, 'settings.png'), fullPage: true });
    });

    it('renders the usage page: chart, totals and CSV of real gateway calls (or the empty state without a usage API)', async () => {
      const since = Math.floor(Date.now() / 1000) - 3600;
      const probe = await t.api('GET', `/v1/organization/usage/completions?start_time=${since}`);
      let calls = 0;
      if (probe.status !== 404) {
        // Traffic through the gateway's built-in echo model, when the gateway is there.
        const key = await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'usage-demo' } });
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`${t.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key.body.value}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'tollgate-echo', messages: [{ role: 'user', content: `hello ${i}` }] }),
          });
          if (res.ok) calls++;
        }
        const deadline = Date.now() + 5000;
        while (calls > 0 && Date.now() < deadline) {
          const page = await t.api('GET', `/v1/organization/usage/completions?start_time=${since}&bucket_width=1h&limit=168`);
          const n = page.body.data.flatMap((b: { results: Array<{ num_model_requests: number }> }) => b.results).reduce((a: number, r: { num_model_requests: number }) => a + r.num_model_requests, 0);
          if (n >= calls) break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/spend_limit`, { body: { threshold_amount: 5000, interval: 'month' } });
      await page.getByRole('link', { name: 'Usage' }).click();
      await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
      if (probe.status === 404) {
        await page.getByRole('heading', { name: 'Usage will appear here' }).waitFor();
      } else if (calls === 0) {
        await page.getByRole('heading', { name: 'No usage in this period' }).waitFor();
      } else {
        const requests = page.locator('.stat', { hasText: 'Requests' }).locator('.stat-value');
        await expect.poll(() => requests.textContent()).toBe(String(calls));
        const budget = page.locator('section', { has: page.getByRole('heading', { name: 'Spend against budget' }) });
        await budget.getByRole('rowheader', { name: 'Default project' }).waitFor();
        await expect(budget.textContent()).resolves.toContain('50.00');
        await budget.getByRole('progressbar').waitFor();
        await page.locator('.chart canvas').waitFor();
        await page.locator('.chart .u-legend').getByText('tollgate-echo').waitFor();
        await page.getByRole('cell', { name: 'tollgate-echo' }).waitFor();
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
        const file = await download.path();
        const { readFileSync } = await import('node:fs');
        const csv = readFileSync(file, 'utf8');
        expect(csv.split('\r\n')[0]).toBe('start_time,end_time,project_id,api_key_id,model,num_model_requests,input_tokens,output_tokens,input_cached_tokens');
        expect(csv).toContain('tollgate-echo');
        // Switching the grouping redraws without errors.
        await page.getByLabel('Group by').selectOption('api_key_id');
        await page.locator('.chart .u-legend').getByText('usage-demo', { exact: false }).waitFor();
        await page.getByLabel('Group by').selectOption('model');
      }
      await page.screenshot({ path: join(SHOTS, 'usage.png'), fullPage: true });
    });

    it('renders the limits page without crashing on missing endpoints', async () => {
      await page.getByRole('link', { name: 'Limits' }).click();
      await page.getByRole('heading', { name: 'Limits', level: 1 }).waitFor();
      await page.getByRole('heading', { name: 'Rate limits' }).waitFor();
      await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
      await page.waitForLoadState('networkidle');
      await page.getByLabel('Alert thresholds (%)').fill('40, 90');
      await page.getByLabel('Recipients').fill('ops@example.com, cfo@example.com');
      await page.getByRole('button', { name: 'Save alerts' }).click();
      await page.getByText('Alerts saved.').waitFor();
      const alerts = await t.api('GET', `/v1/organization/projects/${t.defaultProjectId}/spend_alerts`);
      expect(alerts.body).toMatchObject({ thresholds: [40, 90], recipients: ['ops@example.com', 'cfo@example.com'] });
      await page.screenshot({ path: join(SHOTS, 'limits.png'), fullPage: true });
    });

    it('fits a 375 px wide screen without horizontal scrolling', async () => {
      await page.setViewportSize({ width: 375, height: 812 });
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.locator('tr', { has: page.getByRole('rowheader', { name: KEY_NAME }) }).waitFor();
      const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth }));
      expect(widths.doc).toBeLessThanOrEqual(widths.view);
      expect(widths.body).toBeLessThanOrEqual(widths.view);
      await page.screenshot({ path: join(SHOTS, 'api-keys-375px.png'), fullPage: true });
      await page.getByRole('button', { name: 'Create new secret key' }).click();
      const dialogWidth = await page.getByRole('dialog').evaluate((el) => el.getBoundingClientRect().width);
      expect(dialogWidth).toBeLessThanOrEqual(375);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      await page.keyboard.press('Escape');
      await page.setViewportSize({ width: 1280, height: 860 });
    });

    it('signs out, and signs back in', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.screenshot({ path: join(SHOTS, 'sign-in.png') });
      await page.getByLabel('Email').fill(OWNER.email);
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('Incorrect email or password.').waitFor();
      await page.getByLabel('Password').fill(OWNER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    });

    it('edits and rotates a key; the rotated secret is shown once and works', async () => {
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('button', { name: 'Create new secret key' }).click();
      let dialog = page.getByRole('dialog');
      await dialog.getByLabel('Name').fill('rotating');
      await dialog.getByText('Read only').click();
      await dialog.getByRole('button', { name: 'Create secret key' }).click();
      const first = await dialog.getByTestId('secret').inputValue();
      await dialog.getByRole('button', { name: 'Done' }).click();

      await page.getByRole('button', { name: 'Edit rotating' }).click();
      dialog = page.getByRole('dialog', { name: 'Edit secret key' });
      await dialog.getByLabel('Name').fill('rotated');
      await dialog.getByText('Restricted').click();
      await dialog.getByLabel('Embeddings permission').selectOption('write');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'detached' });
      const row = page.locator('tr', { has: page.getByRole('rowheader', { name: 'rotated' }) });
      await row.getByText('Restricted').waitFor();

      await page.getByRole('button', { name: 'Rotate rotated' }).click();
      dialog = page.getByRole('dialog', { name: 'Rotate secret key' });
      await dialog.getByLabel('Old secret stops working').selectOption('0');
      await dialog.getByRole('button', { name: 'Rotate key' }).click();
      const second = await page.getByRole('dialog').getByTestId('secret').inputValue();
      expect(second).toMatch(/^sk-tg-/);
      expect(second).not.toBe(first);
      await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      expect(await keyIsAccepted(t, second)).toBe(true);
      expect(await keyIsAccepted(t, first)).toBe(false);
      expect(await page.content()).not.toContain(second);
    });

    it('invites a member by link; they join, manage keys in their project, and see no owner-only settings', async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Email', { exact: true }).fill('member@example.com');
      await page.getByLabel('Add to project').selectOption({ label: 'Default project' });
      await page.getByRole('button', { name: 'Send invite' }).click();
      const link = await page.getByLabel('Invitation link', { exact: true }).inputValue();
      expect(link).toMatch(new RegExp(`^${t.url}/#/accept\\?token=`));
      await page.getByRole('cell', { name: 'pending' }).waitFor();

      const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      other.setDefaultTimeout(8000);
      const invited = await other.newPage();
      invited.on('pageerror', (e) => problems.push(e.message));
      await invited.goto(link);
      await invited.getByRole('heading', { name: 'Join Default organization' }).waitFor();
      expect(await invited.getByLabel('Email').inputValue()).toBe('member@example.com');
      await invited.screenshot({ path: join(SHOTS, 'accept-invite.png') });
      await invited.getByLabel('Name').fill('Mia Member');
      await invited.getByLabel('Password').fill('member password!');
      await invited.getByRole('button', { name: 'Create account' }).click();
      await invited.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
      expect(new URL(invited.url()).hash).not.toContain('token');
      await invited.getByRole('button', { name: 'Create new secret key' }).click();
      await invited.getByRole('dialog').getByLabel('Name').fill('member-key');
      await invited.getByRole('dialog').getByRole('button', { name: 'Create secret key' }).click();
      await invited.getByRole('dialog').getByTestId('secret').waitFor();
      await invited.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
      await invited.getByRole('rowheader', { name: 'member-key' }).waitFor();
      await invited.getByRole('link', { name: 'Settings' }).click();
      await invited.getByRole('heading', { name: 'Members', exact: true }).waitFor();
      await expect(invited.getByRole('heading', { name: 'Admin keys' }).count()).resolves.toBe(0);
      await expect(invited.getByRole('heading', { name: 'Audit log' }).count()).resolves.toBe(0);
      await other.close();
    });

    it('logged no script errors or CSP violations', () => {
      expect(problems).toEqual([]);
    });
  });
}
