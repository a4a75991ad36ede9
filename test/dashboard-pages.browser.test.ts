import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES } from '../src/core/audit-events.js';
import { RATE_LIMIT_UNLIMITED } from '../src/core/project-rate-limits.js';
import { chat, type DashboardSession, describeBrowser, embed, keyIsAccepted, ORG, OWNER, openDashboard, shot, signInOwner } from './harness/dashboard-browser.js';
import { startTestServer, type TestServer } from './harness/server.js';

// The dashboard in Debian's Chromium, second half (the first: test/dashboard.browser.test.ts), signed in as an owner
// made through the API: refusals and budgets on the usage page, the limits page, settings, a 375 px screen, the
// failures a user can meet (a 503 at start, a page whose parts fail), signing out and in, and a member invited by
// link; with axe-core's scan of every page and dialog in light and dark at 1280 and 375 px.

describeBrowser('dashboard in a browser: usage, limits, settings and members', () => {
  let s: DashboardSession;
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  const scan: DashboardSession['scan'] = (...args) => s.scan(...args);

  beforeAll(async () => {
    s = await openDashboard();
    ({ t, browser, page } = s);
    await signInOwner(s);
  });

  afterAll(async () => {
    await s?.close();
  });

  it('shows refused requests by reason and embeddings on the usage page, budgets, filters by project and key, and exports names', async () => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Budgeted project' } })).body.id;
    await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 500, interval: 'day' } });
    const base = `${ORG}/projects/${p}/api_keys`;
    const busy = (await t.api('POST', base, { body: { name: 'busy-key', rate_limits: { max_requests_per_1_minute: 3 } } })).body;
    const ipKey = (await t.api('POST', base, { body: { name: 'office-only', allowed_ips: ['203.0.113.9'] } })).body;
    const reader = (await t.api('POST', base, { body: { name: 'read-only-key', permissions: 'read_only' } })).body;
    const sent: number[] = [];
    for (let i = 0; i < 2; i++) sent.push((await embed(t, busy.value, `text ${i}`)).status);
    sent.push((await chat(t, busy.value)).status);
    sent.push((await chat(t, busy.value)).status);
    for (let i = 0; i < 3; i++) sent.push((await chat(t, ipKey.value)).status);
    sent.push((await chat(t, reader.value)).status);
    expect(sent).toEqual([200, 200, 200, 429, 403, 403, 403, 403]);
    await t.server.gateway.usage.flush();

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    const budget = page.locator('section', { has: page.getByRole('heading', { name: 'Spend against budget' }) });
    await budget.locator('.standing', { hasText: 'Budgeted project' }).getByText('of $5.00 per day').waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Budgeted project' });
    const stat = (id: string) => page.getByTestId(id).locator('.stat-value');
    await expect.poll(() => stat('refused').textContent()).toBe('5');
    await expect.poll(() => stat('answered').textContent()).toBe('3');
    await expect.poll(() => stat('embeddings').textContent()).toBe('2');
    const refused = page.locator('table.refusals');
    await expect.poll(() => refused.locator('tr[data-reason="ip"] td.num').textContent()).toBe('3');
    await expect(refused.locator('tr[data-reason="scope"] td.num').textContent()).resolves.toBe('1');
    await expect(refused.locator('tr[data-reason="rate_limit"] td.num').textContent()).resolves.toBe('1');
    await refused.getByRole('rowheader', { name: 'IP allowlist' }).waitFor();
    await page.getByLabel('Show').selectOption('refused');
    await page.getByLabel('Group by').selectOption('api_key_id');
    await page.getByRole('link', { name: `office-only (${ipKey.redacted_value})` }).waitFor();
    await shot(page, 'usage-refused.png', { fullPage: true });
    await page.getByLabel('Show').selectOption('requests');
    await page.getByLabel('Group by').selectOption('model');
    // Filtered by key.
    await page.getByLabel('API key').selectOption({ label: `office-only (${ipKey.redacted_value})` });
    await expect.poll(() => stat('refused').textContent()).toBe('3');
    await expect.poll(() => refused.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('API key').selectOption('');

    // The default project's traffic: answered chats and embeddings, exported with names.
    const demo = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'usage-demo' } })).body;
    for (let i = 0; i < 2; i++) expect((await chat(t, demo.value, `hello ${i}`)).status).toBe(200);
    expect((await embed(t, demo.value, 'vector')).status).toBe(200);
    await t.server.gateway.usage.flush();
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Default project' });
    await page.getByLabel('API key').selectOption({ label: `usage-demo (${demo.redacted_value})` });
    await expect.poll(() => stat('answered').textContent()).toBe('3');
    await expect.poll(() => stat('embeddings').textContent()).toBe('1');
    await page.locator('.chart canvas').waitFor();
    await page.getByLabel('Group by').selectOption('api_key_id');
    const link = page.getByRole('link', { name: `usage-demo (${demo.redacted_value})` });
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('start_time,end_time,kind,project_id,project_name,api_key_id,api_key_name,model,num_model_requests,num_refused_requests,input_tokens,output_tokens,input_cached_tokens,cost_usd');
    // Every text quoted (a spreadsheet splitting on ';' keeps each one cell).
    expect(lines.some((l) => l.includes(`,"completions","${t.defaultProjectId}","Default project","${demo.id}","usage-demo",`))).toBe(true);
    expect(lines.some((l) => l.includes(`,"embeddings","${t.defaultProjectId}","Default project","${demo.id}","usage-demo",`))).toBe(true);
    await shot(page, 'usage.png', { fullPage: true });
    await scan('usage', () => page.locator('.chart canvas').waitFor());
    // The usage page links to the key's page.
    await link.click();
    await page.getByRole('heading', { name: 'usage-demo', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('key-answered').locator('.stat-value').textContent()).toBe('3');
  });

  it('labels usage by its UTC day and shows exactly the UTC days picked, in New York and in Tokyo', async () => {
    // The server buckets by UTC day (docs/usage-api.md). The page read the dates picked as local midnights, which the
    // server widened to the UTC day before (8 days for 7), and labelled each bucket by its local date: in New York a
    // request at 01:29 on Dec 7 showed under "Dec 6", beside a "Nov 30" never picked.
    const DAY = 86_400;
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'UTC days project' } })).body.id;
    const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'utc-days-key' } })).body;
    for (let i = 0; i < 3; i++) expect((await chat(t, key.value, `utc ${i}`)).status).toBe(200);
    await t.server.gateway.usage.flush();
    // The UTC day and hour the server counted them in, as its own API says (whatever the date and time of the run).
    const since = Math.floor(Date.now() / 1000) - 2 * DAY;
    const hours = (await t.api('GET', `${ORG}/usage/completions?start_time=${since}&bucket_width=1h&limit=72&project_ids=${p}`)).body;
    const hour: number = hours.data.find((b: { results: unknown[] }) => b.results.length > 0).start_time;
    const today = Math.floor(hour / DAY) * DAY;
    const iso = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 10);
    const dayName = (sec: number) => new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(sec * 1000));
    const tickName = (sec: number) => new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(new Date(sec * 1000));
    const week = Array.from({ length: 7 }, (_, i) => today - (6 - i) * DAY);

    for (const timezoneId of ['America/New_York', 'Asia/Tokyo']) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US', timezoneId, storageState: await s.context.storageState() });
      // The axis is drawn on a canvas: its tick labels are read as they are drawn, each with the canvas it went on, so
      // that what a chart since replaced or redrawn drew (the previous range, while the new one loads) is not counted.
      await ctx.addInitScript(() => {
        const drawn: [HTMLCanvasElement, string][] = [];
        Object.assign(window, { drawnText: drawn });
        const fillText = CanvasRenderingContext2D.prototype.fillText;
        CanvasRenderingContext2D.prototype.fillText = function (text: string, x: number, y: number, maxWidth?: number) {
          drawn.push([this.canvas, String(text)]);
          return maxWidth === undefined ? fillText.call(this, text, x, y) : fillText.call(this, text, x, y, maxWidth);
        };
        // A chart redrawn on its own canvas (uPlot clears the whole of it first) shows only what it drew since: what it
        // drew before (the previous range, while the new one loaded) is no longer on the page.
        const clearRect = CanvasRenderingContext2D.prototype.clearRect;
        CanvasRenderingContext2D.prototype.clearRect = function (x: number, y: number, w: number, h: number) {
          if (x <= 0 && y <= 0 && w >= this.canvas.width && h >= this.canvas.height) {
            for (let i = drawn.length - 1; i >= 0; i--) if (drawn[i][0] === this.canvas) drawn.splice(i, 1);
          }
          return clearRect.call(this, x, y, w, h);
        };
      });
      const tp = await ctx.newPage();
      tp.on('pageerror', (e) => s.problems.push(`${timezoneId}: ${e.message}`));
      type Drawn = { drawnText: [HTMLCanvasElement, string][] };
      const drawnTicks = async () =>
        new Set(
          (await tp.evaluate(() => (window as unknown as Drawn).drawnText.filter(([canvas]) => canvas.isConnected).map(([, text]) => text))).filter((x) =>
            /^[A-Z][a-z]{2} \d{1,2}$/.test(x),
          ),
        );
      const clearDrawn = () => tp.evaluate(() => void (window as unknown as Drawn).drawnText.splice(0));
      // Each bar's legend: a mouse moved across the plot (uPlot updates its legend as each move arrives), the x label
      // and the key's model's value at each stop.
      const bars = async () =>
        new Map(
          await tp.evaluate(() => {
            const over = document.querySelector('.chart .u-over');
            if (!over) throw new Error('no chart');
            const box = over.getBoundingClientRect();
            const seen = new Map<string, string>();
            for (let x = box.left + 1; x < box.right; x += 4) {
              over.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: box.top + box.height / 2, bubbles: true }));
              const rows = [...document.querySelectorAll('.chart .u-legend .u-series')];
              const cell = (r: Element | undefined) => r?.querySelector('.u-value')?.textContent ?? '';
              const label = cell(rows[0]);
              if (label) seen.set(label, cell(rows.find((r) => r.textContent?.includes('tollgate-echo'))));
            }
            return [...seen.entries()];
          }),
        );
      const stat = (id: string) => tp.getByTestId(id).locator('.stat-value');

      await tp.goto(`${t.url}/#/usage`);
      await tp.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
      // The default range is the last 7 UTC days, today's (the requests') last.
      await expect(tp.getByLabel('From').inputValue(), timezoneId).resolves.toBe(iso(week[0]));
      await expect(tp.getByLabel('To').inputValue(), timezoneId).resolves.toBe(iso(today));
      await tp.getByLabel('Project', { exact: true }).selectOption({ label: 'UTC days project' });
      await expect.poll(() => stat('answered').textContent()).toBe('3');
      // Exactly the seven days picked, each named by its UTC date; the requests on today's (polled: the chart of every
      // project, drawn before the filter, is replaced once the filtered answer is in).
      await expect.poll(async () => [...(await bars()).entries()], { message: timezoneId }).toEqual(week.map((d) => [dayName(d), d === today ? '3' : '0']));
      await tp.getByText('Days and hours are UTC').waitFor();
      // What the axis shows once drawn (polled: a chart draws its axis on the frame after its data).
      await expect
        .poll(async () => {
          const ticks = [...(await drawnTicks())];
          return { today: ticks.includes(tickName(today)), outside: ticks.filter((x) => !week.map(tickName).includes(x)) };
        }, { message: timezoneId })
        .toEqual({ today: true, outside: [] });

      // One day picked: that UTC day and no other.
      await clearDrawn();
      await tp.getByLabel('From').fill(iso(today));
      await expect.poll(() => stat('answered').textContent()).toBe('3');
      await expect.poll(async () => [...(await bars()).entries()], { message: timezoneId }).toEqual([[dayName(today), '3']]);
      await expect.poll(async () => [...(await drawnTicks())], { message: timezoneId }).toEqual([tickName(today)]);
      // Its hours are that day's 24 UTC hours, the requests in the hour the server counted them in.
      await tp.getByLabel('Per', { exact: true }).selectOption('1h');
      await expect.poll(async () => (await bars()).size, { message: timezoneId }).toBe(24);
      const perHour = await bars();
      expect([...perHour.keys()].every((label) => label.startsWith(`${dayName(today)}, `)), `${timezoneId}: ${[...perHour.keys()]}`).toBe(true);
      expect([...perHour.entries()].filter(([, v]) => v !== '0'), timezoneId).toEqual([[`${dayName(today)}, ${new Intl.DateTimeFormat('en-US', { timeStyle: 'short', timeZone: 'UTC' }).format(new Date(hour * 1000))}`, '3']]);
      await tp.getByLabel('Per', { exact: true }).selectOption('1d');
      // The day before, alone, holds none of them.
      await tp.getByLabel('From').fill(iso(today - DAY));
      await tp.getByLabel('To').fill(iso(today - DAY));
      await expect.poll(() => stat('answered').textContent(), { message: timezoneId }).toBe('0');

      // The key's page: its last 7 days are the same seven UTC days.
      await tp.goto(`${t.url}/#/api-keys/${key.id}?project=${p}`);
      await tp.getByRole('heading', { name: 'utc-days-key', level: 1 }).waitFor();
      await expect.poll(() => tp.getByTestId('key-answered').locator('.stat-value').textContent()).toBe('3');
      await expect.poll(async () => [...(await bars()).entries()], { message: `${timezoneId}, key page` }).toEqual(week.map((d) => [dayName(d), d === today ? '3' : '0']));
      await tp.getByText('Days are UTC days').waitFor();
      await ctx.close();
    }
  });

  it('shows a budget exhausted by spend as blocked until its reset', async () => {
    // A price makes the echo model billable: a new server with one, small and quick.
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-priced-')), 'tollgate.config.json');
    writeFileSync(file, JSON.stringify({ pricing: { 'tollgate-echo': { input: 1000, cached_input: 1000, output: 1000 } } }));
    const priced = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file } });
    try {
      await priced.api('POST', `${ORG}/projects/${priced.defaultProjectId}/spend_limit`, { body: { threshold_amount: 10, interval: 'day' } });
      const key = (await priced.api('POST', `${ORG}/projects/${priced.defaultProjectId}/api_keys`, { body: { name: 'spender' } })).body;
      await new Promise((r) => setTimeout(r, 1100));
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push((await chat(priced, key.value, 'hi', { max_tokens: 1 })).status);
      expect(codes[0]).toBe(200);
      expect(codes.at(-1)).toBe(429);
      await priced.server.gateway.usage.flush();
      const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const p2 = await other.newPage();
      p2.on('pageerror', (e) => s.problems.push(e.message));
      await p2.goto(`${priced.url}/`);
      await p2.getByLabel('Setup token').fill(priced.setupToken as string);
      await p2.getByLabel('Email').fill('budget@example.com');
      await p2.getByLabel('Password').fill('a long budget password');
      await p2.getByRole('button', { name: 'Create account' }).click();
      await p2.getByRole('link', { name: 'Usage' }).click();
      const meter = p2.locator('.standing', { hasText: 'Default project' });
      await meter.waitFor();
      await expect(meter.getAttribute('data-state')).resolves.toBe('blocked');
      const text = (await meter.textContent()) ?? '';
      expect(text).toMatch(/Blocked: requests are refused/);
      expect(text).toMatch(/Resets /);
      expect(text).toMatch(/of \$0\.10 per day/);
      await shot(p2, 'usage-budget-blocked.png');
      await other.close();
    } finally {
      await priced.close();
    }
  });

  it('renders the limits page: a model limit, a spend limit set and removed, a spend alert with recipients said to go to webhooks', async () => {
    await page.getByRole('link', { name: 'Limits' }).click();
    await page.getByRole('heading', { name: 'Limits', level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Rate limits' }).waitFor();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    const project = `${ORG}/projects/${t.defaultProjectId}`;

    // The API lists the echo model without a limit: the page lists none until one is set (OpenAI's update of rl-<model>).
    await page.getByText('No rate limits are set for this project').waitFor();
    const add = page.getByRole('form', { name: 'Add a rate limit' });
    await add.getByLabel('Model').fill('tollgate-echo');
    await add.getByLabel('Requests / min', { exact: true }).fill('60');
    await add.getByRole('button', { name: 'Add rate limit' }).click();
    await page.getByRole('rowheader', { name: 'tollgate-echo' }).waitFor();
    const limits = (await t.api('GET', `${project}/rate_limits`)).body.data;
    expect(limits).toEqual([expect.objectContaining({ id: 'rl-tollgate-echo', max_requests_per_1_minute: 60, max_tokens_per_1_minute: RATE_LIMIT_UNLIMITED })]);

    // With a dollar sign, as the key dialog takes it (this page refused "$250").
    await page.getByLabel('Limit (USD)').fill('$250');
    await page.getByRole('button', { name: 'Save spend limit' }).click();
    await page.getByText('Spend limit saved.').waitFor();
    expect((await t.api('GET', `${project}/spend_limit`)).body).toMatchObject({ threshold_amount: 25_000, currency: 'USD', enforcement: { status: 'enforcing' } });
    // The form reloads the limit after saving and shows it again: cleared before that, the reload put 250.00 back
    // (a loaded run saved 250 again instead of removing it).
    await expect.poll(() => page.getByLabel('Limit (USD)').inputValue()).toBe('250.00');
    await page.getByLabel('Limit (USD)').fill('');
    await page.getByRole('button', { name: 'Save spend limit' }).click();
    await page.getByText('Spend limit removed.').waitFor();
    expect((await t.api('GET', `${project}/spend_limit`)).status).toBe(404);

    await page.getByText('Tollgate sends no email').waitFor();
    await page.getByLabel('Alert at (USD per month)').fill('40');
    await page.getByLabel('Recipients').fill('finance@example.com, ops@example.com');
    await page.getByRole('button', { name: 'Add alert' }).click();
    await page.getByText('Alert added.').waitFor();
    await page.getByRole('rowheader', { name: '$40.00' }).waitFor();
    const alerts = (await t.api('GET', `${project}/spend_alerts`)).body.data;
    expect(alerts.map((a: { threshold_amount: number; notification_channel: { recipients: string[] } }) => [a.threshold_amount, a.notification_channel.recipients])).toEqual([
      [4000, ['finance@example.com', 'ops@example.com']],
    ]);
    await shot(page, 'limits.png', { fullPage: true });
    await scan('limits', () => page.getByLabel('Alert at (USD per month)').waitFor());
    await page.getByRole('button', { name: 'Delete alert at $40.00' }).click();
    await page.getByText('No spend alerts for this project.').waitFor();
    expect((await t.api('GET', `${project}/spend_alerts`)).body.data).toEqual([]);
    expect((await t.api('DELETE', `${project}/rate_limits/rl-tollgate-echo`)).status).toBe(200);
  });

  it('settings: sections with their own navigation, service accounts, projects renamed and archived, an audit log with every event type and names', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Settings sections' });
    await scan('settings: organization', () => page.getByRole('heading', { name: 'Organization', exact: true }).waitFor());
    await page.reload();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    expect(new URL(page.url()).hash).toMatch(/^#\/settings/);

    // Projects: rename and archive.
    await t.api('POST', `${ORG}/projects`, { body: { name: 'Short-lived' } });
    await page.reload();
    await page.getByRole('button', { name: 'Rename Short-lived' }).click();
    const rename = page.getByRole('dialog', { name: 'Rename project' });
    await scan('rename project dialog', () => rename.waitFor());
    await rename.getByLabel('Project name').fill('Renamed project');
    await rename.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('rowheader', { name: 'Renamed project' }).waitFor();
    await page.getByRole('button', { name: 'Archive Renamed project' }).click();
    const archive = page.getByRole('dialog', { name: 'Archive project' });
    await scan('archive project dialog', () => archive.waitFor());
    await archive.getByRole('button', { name: 'Archive project' }).click();
    await page.locator('tr', { has: page.getByRole('rowheader', { name: 'Renamed project' }) }).getByText('Archived').waitFor();

    // Service accounts: create (its key shown once), rename, its keys, delete.
    await nav.getByRole('link', { name: 'Service accounts' }).click();
    await page.getByRole('heading', { name: 'Service accounts', level: 2 }).waitFor();
    await page.getByLabel('New service account name').fill('deploy-bot');
    await page.getByRole('button', { name: 'Create service account' }).click();
    const shown = page.getByRole('dialog', { name: "Save the service account's key" });
    const svcSecret = await shown.getByTestId('secret').inputValue();
    expect(await keyIsAccepted(t, svcSecret)).toBe(true);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Rename deploy-bot' }).click();
    const svcRename = page.getByRole('dialog', { name: 'Rename service account' });
    await scan('rename service account dialog', () => svcRename.waitFor());
    await svcRename.getByLabel('Name').fill('release-bot');
    await svcRename.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('rowheader', { name: 'release-bot' }).waitFor();
    await scan('settings: service accounts', () => page.getByRole('rowheader', { name: 'release-bot' }).waitFor());
    await page.getByRole('link', { name: '1 key of release-bot' }).click();
    await page.getByText('Keys of release-bot').waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.goBack();
    await page.getByRole('button', { name: 'Delete release-bot' }).click();
    const del = page.getByRole('dialog', { name: 'Delete service account' });
    await scan('delete service account dialog', () => del.waitFor());
    await del.getByRole('button', { name: 'Delete service account' }).click();
    await page.getByRole('rowheader', { name: 'release-bot' }).waitFor({ state: 'detached' });
    expect(await keyIsAccepted(t, svcSecret)).toBe(false);

    // A key whose rotation grace was ended early (its audit entry names it).
    const keys = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const badged = (await t.api('POST', keys, { body: { name: 'badged' } })).body;
    expect((await t.api('POST', `${keys}/${badged.id}/rotate`, { body: { grace_period_seconds: 3600 } })).status).toBe(200);
    expect((await t.api('POST', `${keys}/${badged.id}/end_grace`)).status).toBe(200);

    // The audit log: every type of the server's catalogue, entries with names and the threshold crossed.
    await nav.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log', level: 2 }).waitFor();
    const options = await page.getByLabel('Event').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toEqual(['', ...AUDIT_EVENT_TYPES]);
    await page.getByLabel('Event').selectOption('service_account.updated');
    const entry = page.locator('tr[data-type="service_account.updated"]').first();
    await entry.getByText('Service account renamed').waitFor();
    await entry.getByText('release-bot').waitFor();
    await page.getByLabel('Event').selectOption('api_key.grace_ended');
    await page.locator('tr[data-type="api_key.grace_ended"]').first().getByText('badged').waitFor();
    await page.getByLabel('Event').selectOption('');
    await shot(page, 'settings.png', { fullPage: false });
    await scan('settings: audit log', () => page.locator('.audit-table').waitFor());
    for (const [section, heading] of [
      ['Members', 'Members'],
      ['Project members', 'Project members'],
      ['Admin keys', 'Admin keys'],
      ['Your account', 'Your account'],
    ]) {
      await nav.getByRole('link', { name: section, exact: true }).click();
      await scan(`settings: ${section}`, () => page.getByRole('heading', { name: heading, level: 2 }).waitFor());
    }
  });

  it('fits a 375 px wide screen without horizontal scrolling, on every page', async () => {
    await page.setViewportSize({ width: 375, height: 812 });
    for (const hash of ['#/api-keys', '#/usage', '#/limits', '#/settings/organization', '#/settings/audit-log', '#/settings/service-accounts']) {
      await page.goto(`${t.url}/${hash}`);
      await page.locator('h1').first().waitFor();
      await page.waitForTimeout(300);
      const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth }));
      expect(widths.doc, hash).toBeLessThanOrEqual(widths.view);
      expect(widths.body, hash).toBeLessThanOrEqual(widths.view);
    }
    await page.goto(`${t.url}/#/api-keys`);
    await page.locator('tbody tr').first().waitFor();
    await shot(page, 'api-keys-375px.png', { fullPage: false });
    await page.getByRole('button', { name: 'Create new secret key' }).click();
    const dialogWidth = await page.getByRole('dialog').evaluate((el) => el.getBoundingClientRect().width);
    expect(dialogWidth).toBeLessThanOrEqual(375);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${t.url}/#/usage`);
    await page.getByTestId('answered').waitFor();
    await page.waitForTimeout(500);
    await shot(page, 'usage-dark.png', { fullPage: false });
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('at start, a failing /auth/me shows an error with Retry, not the sign-in form, and Retry brings the signed-in page back', async () => {
    let failures = 0;
    await page.route('**/auth/me', async (route) => {
      failures++;
      await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { message: 'Service temporarily unavailable.', type: 'server_error', param: null, code: 'service_unavailable' } }) });
    });
    await page.goto(`${t.url}/#/api-keys`);
    await page.reload();
    await page.getByRole('heading', { name: 'Tollgate could not load' }).waitFor();
    await page.getByRole('alert').getByText('Service temporarily unavailable.').waitFor();
    await expect(page.getByRole('heading', { name: 'Sign in' }).count()).resolves.toBe(0);
    await expect(page.getByLabel('Password').count()).resolves.toBe(0);
    await scan('boot failure', () => page.getByRole('button', { name: 'Retry' }).waitFor());
    expect(failures).toBeGreaterThan(0);
    await page.unroute('**/auth/me');
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  });

  it('shows a failure once per page with one Retry, and a Retry where each part failed', async () => {
    await page.goto(`${t.url}/#/settings/service-accounts`);
    await page.getByRole('heading', { name: 'Service accounts', level: 2 }).waitFor();
    await page.route('**/v1/organization/**', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { message: 'The database is not answering.', type: 'server_error', param: null, code: 'service_unavailable' } }) }),
    );
    await page.route('**/auth/dashboard/**', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { message: 'The database is not answering.', type: 'server_error', param: null, code: 'service_unavailable' } }) }),
    );
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await page.getByRole('alert').getByText('The database is not answering.').waitFor();
    await page.waitForTimeout(300);
    await expect(page.getByText('The database is not answering.').count()).resolves.toBe(1);
    expect(await page.locator('.load-failed').count()).toBeGreaterThan(0);
    // Values that did not load say so, instead of "…" forever.
    await expect(page.getByTestId('answered').locator('.stat-value').textContent()).resolves.toBe('—');
    await scan('usage failed', () => page.getByRole('alert').waitFor());
    await page.unroute('**/v1/organization/**');
    await page.unroute('**/auth/dashboard/**');
    await page.getByRole('alert').getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.getByTestId('answered').locator('.stat-value').textContent()).not.toBe('—');
    // The page's other parts answer in their own time after the Retry: the failure goes once each of them has.
    await expect.poll(() => page.getByText('The database is not answering.').count()).toBe(0);
  });

  it('signs out (a failed sign-out says so and keeps the session, with Retry), and signs back in', async () => {
    // A sign-out the server did not do (the database down) is not shown as done: the session still works.
    const refuse = (r: import('playwright-core').Route) =>
      r.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"message":"Database unavailable","type":"server_error","code":"service_unavailable"}}' });
    await page.route('**/auth/logout', refuse);
    await page.getByRole('button', { name: 'Sign out' }).click();
    const failed = page.getByRole('alert').filter({ hasText: 'Database unavailable' });
    await failed.getByText('You are still signed in').waitFor();
    expect(await page.getByRole('heading', { name: 'Sign in' }).count()).toBe(0);
    await page.unroute('**/auth/logout', refuse);
    await failed.getByRole('button', { name: 'Retry' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot(page, 'sign-in.png');
    await scan('sign-in', () => page.getByRole('heading', { name: 'Sign in' }).waitFor());
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Incorrect email or password.').waitFor();
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  });

  it('invites a member by link; they manage keys in their project, see no owner-only settings, and a role change shows at their next navigation', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Members', exact: true }).click();
    await page.getByRole('button', { name: 'Create invite link' }).waitFor();
    await page.getByText('Tollgate sends no email').waitFor();
    await page.getByLabel('Email', { exact: true }).fill('member@example.com');
    await page.getByLabel('Add to project').selectOption({ label: 'Default project' });
    await page.getByRole('button', { name: 'Create invite link' }).click();
    const link = await page.getByLabel('Invitation link', { exact: true }).inputValue();
    expect(link).toMatch(new RegExp(`^${t.url}/#/accept\\?token=`));
    await page.getByRole('cell', { name: 'pending' }).waitFor();

    const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    other.setDefaultTimeout(10_000);
    const invited = await other.newPage();
    invited.on('pageerror', (e) => s.problems.push(e.message));
    await invited.goto(link);
    await invited.getByRole('heading', { name: 'Join Default organization' }).waitFor();
    expect(await invited.getByLabel('Email').inputValue()).toBe('member@example.com');
    await shot(invited, 'accept-invite.png');
    await invited.getByLabel('Name').fill('Mia Member');
    await invited.getByLabel('Password').fill('member password!');
    await invited.getByRole('button', { name: 'Create account' }).click();
    await invited.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    expect(new URL(invited.url()).hash).not.toContain('token');
    await invited.getByRole('button', { name: 'Create new secret key' }).click();
    await invited.getByRole('dialog').getByLabel('Name').fill('member-key');
    await invited.getByRole('dialog').getByRole('button', { name: 'Create secret key' }).click();
    await invited.getByRole('dialog').getByTestId('secret').waitFor();
    await invited.getByRole('dialog').getByRole('button', { name: 'Copy' }).click();
    await invited.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await invited.getByRole('link', { name: 'member-key', exact: true }).waitFor();

    // A member changes only their own keys (the server answers 403 for the others): no actions on a colleague's key.
    const keys = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const ownerKey = (await t.api('POST', keys, { body: { name: 'owners-key' } })).body;
    await invited.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}&q=-key`);
    await invited.getByRole('link', { name: 'owners-key', exact: true }).waitFor();
    await invited.getByRole('button', { name: 'Revoke member-key' }).waitFor();
    for (const action of ['Edit', 'Rotate', 'Revoke']) {
      await expect(invited.getByRole('button', { name: `${action} owners-key` }).count()).resolves.toBe(0);
    }
    await invited.getByText('You can change, rotate and revoke the keys you own').waitFor();
    await invited.getByRole('link', { name: 'owners-key', exact: true }).click();
    await invited.getByText("Only this key's owner or a project owner can change").waitFor();
    await expect(invited.locator('.page-tools').getByRole('button', { name: 'Revoke' }).count()).resolves.toBe(0);
    expect((await t.api('DELETE', `${keys}/${ownerKey.id}`)).status).toBe(200);

    await invited.getByRole('link', { name: 'Settings' }).click();
    const nav = invited.getByRole('navigation', { name: 'Settings sections' });
    await nav.getByRole('link', { name: 'Members', exact: true }).waitFor();
    await expect(nav.getByRole('link', { name: 'Admin keys' }).count()).resolves.toBe(0);
    await expect(nav.getByRole('link', { name: 'Audit log' }).count()).resolves.toBe(0);

    // The owner makes them a reader of the project: their open tab follows at the next navigation, no reload.
    const me = (await t.api('GET', `${ORG}/users`)).body.data.find((u: { email: string }) => u.email === 'member@example.com');
    expect((await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/users/${me.id}`, { body: { role: 'reader' } })).status).toBe(200);
    await invited.getByRole('link', { name: 'API keys' }).click();
    await invited.getByText("You can view this project's keys").waitFor();
    await expect(invited.getByRole('button', { name: 'Edit member-key' }).count()).resolves.toBe(0);
    await other.close();
  });

  it('found no accessibility violation in any page or dialog, in light and dark, at 1280 and 375 px', () => {
    console.info(`[dashboard in a browser: usage, limits, settings and members] axe scans: ${s.scans()}, violations: ${s.a11y.length}`);
    expect(s.a11y).toEqual([]);
    expect(s.scans()).toBeGreaterThanOrEqual(60);
  });

  it('logged no script errors or CSP violations', () => {
    expect(s.problems).toEqual([]);
  });
});
