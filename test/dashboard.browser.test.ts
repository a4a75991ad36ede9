
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { axe, chat, type DashboardSession, describeBrowser, embed, keyIsAccepted, ORG, OWNER, openDashboard, shot } from './harness/dashboard-browser.js';
import type { TestServer } from './harness/server.js';

// The dashboard in Debian's Chromium, first half (the other: test/dashboard-pages.browser.test.ts): sign-up with the
// setup token, the create → show once → revoke flow, keyboard-only use, keys at scale (200 keys searched, filtered,
// sorted, paged), badges, a key's own page against what was sent, editing and rotating, and axe-core's scan of every
// page and dialog in light and dark at 1280 and 375 px. Skips without /usr/bin/chromium, except under CI=true.

describeBrowser('dashboard in a browser: sign-up and keys', () => {
  let s: DashboardSession;
  let t: TestServer;
  let page: Page;
  let secret = '';
  const KEY_NAME = 'ci-key';
  const scan: DashboardSession['scan'] = (...args) => s.scan(...args);
  const closeDialog = () => s.closeDialog();
  const row = (name: string) => s.row(name);

  beforeAll(async () => {
    // The secret's test below reads every response the page got until then.
    s = await openDashboard({ keepResponses: true });
    ({ t, page } = s);
    secret = '';
  });

  afterAll(async () => {
    await s?.close();
  });

  it('serves the dashboard with a strict CSP, no inline script, and its assets precompressed', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const script = (/<script[^>]+src="([^"]+)"/.exec(html) as RegExpExecArray)[1];
    const js = await fetch(`${t.url}${script}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(js.headers.get('content-encoding')).toBe('br');
    expect(js.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  it('signs up the first account as owner and lands on API keys, with a quickstart that names a model that answers here', async () => {
    const start = Date.now();
    await page.goto(`${t.url}/`);
    await page.getByRole('heading', { name: 'Create the owner account' }).waitFor();
    console.info(`[dashboard.browser.test] first load to interactive sign-up form: ${Date.now() - start} ms`);
    await shot(page, 'sign-up-owner.png');
    // The scanner works here, under the page's CSP: it finds a violation planted for it.
    await page.evaluate(() => {
      const p = document.createElement('p');
      p.id = 'planted';
      p.textContent = 'Grey on grey';
      p.style.color = '#8a8a8a';
      p.style.background = '#999999';
      document.body.append(p);
    });
    expect((await axe(page)).map((v) => v.id)).toContain('color-contrast');
    await page.evaluate(() => document.getElementById('planted')?.remove());
    await scan('sign-up', () => page.getByLabel('Setup token').waitFor());
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
    const quickstart = page.locator('.quickstart').first();
    await quickstart.getByText('"model": "tollgate-echo"').waitFor();
    expect(await quickstart.textContent()).toContain(`${t.url}/v1`);
    // The curl snippet as shown works against this server.
    await shot(page, 'api-keys-empty.png', { fullPage: true });
    await scan('api-keys (empty)', () => page.getByRole('heading', { name: 'Create your first secret key' }).waitFor());
  });

  it('creates a key with the keyboard alone: focus lands on Copy, Enter copies, Done closes', async () => {
    await page.locator('body').focus();
    // The text of the focused control (a button's label), or '' for anything else.
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el && el.tagName === 'BUTTON' ? (el.textContent?.trim() ?? '') : '';
      });
    // Tab to the create button.
    for (let i = 0; i < 40 && (await focused()) !== '+ Create new secret key'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('+ Create new secret key');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Create new secret key' });
    await dialog.waitFor();
    await shot(page, 'create-key-dialog.png');
    const isName = () => page.evaluate(() => document.activeElement?.id !== '' && document.activeElement === document.querySelector('input[placeholder="My test key"]'));
    for (let i = 0; i < 10 && !(await isName()); i++) await page.keyboard.press('Tab');
    expect(await isName()).toBe(true);
    await page.keyboard.type(KEY_NAME);
    await page.keyboard.press('Enter');
    const secretDialog = page.getByRole('dialog', { name: 'Save your key' });
    const secretField = secretDialog.getByTestId('secret');
    await secretField.waitFor();
    secret = await secretField.inputValue();
    expect(secret).toMatch(/^sk-tg-[0-9A-Za-z]{46}$/);
    await expect.poll(focused).toBe('Copy');
    await expect(secretDialog.getByText("you won't be able to view it again").isVisible()).resolves.toBe(true);
    await shot(page, 'create-key-secret.png', { mask: [secretField] });
    await page.keyboard.press('Enter');
    await secretDialog.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    expect(await keyIsAccepted(t, secret)).toBe(true);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Done');
    await page.keyboard.press('Enter');
    await secretDialog.waitFor({ state: 'detached' });
    // Focus returns to the button that opened the dialog (polled, as for Copy: a full run on a loaded machine once read
    // it before the browser had moved focus).
    await expect.poll(focused).toBe('+ Create new secret key');
    const r = row(KEY_NAME);
    await r.waitFor();
    expect(await r.textContent()).toMatch(/Active/);
    expect(await r.textContent()).toContain(`sk-tg-…${secret.slice(-4)}`);
  });

  it('asks once before closing a secret that was not copied', async () => {
    await page.getByRole('button', { name: 'Create new secret key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create new secret key' });
    await dialog.getByLabel('Name').fill('not-copied');
    await dialog.getByRole('button', { name: 'Create secret key' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Save your key' });
    await secretDialog.getByTestId('secret').waitFor();
    await scan('secret dialog', () => secretDialog.getByTestId('secret').waitFor());
    await page.keyboard.press('Escape');
    await secretDialog.getByRole('alert').getByText('You have not copied this secret key').waitFor();
    await expect(secretDialog.isVisible()).resolves.toBe(true);
    await page.keyboard.press('Escape');
    await secretDialog.waitFor({ state: 'detached' });
    await row('not-copied').waitFor();
  });

  it('revokes a key: it leaves the default list, shows as revoked when asked, and is refused', async () => {
    await page.getByRole('button', { name: `Revoke ${KEY_NAME}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke secret key' });
    await dialog.waitFor();
    await scan('revoke dialog', () => dialog.waitFor(), undefined, undefined);
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await dialog.waitFor({ state: 'detached' });
    await row(KEY_NAME).waitFor({ state: 'detached' });
    expect(await keyIsAccepted(t, secret)).toBe(false);
    await page.getByRole('checkbox', { name: /Revoked/ }).check();
    await row(KEY_NAME).getByText('Revoked').waitFor();
    await expect(page.getByRole('button', { name: `Revoke ${KEY_NAME}` }).count()).resolves.toBe(0);
    await page.getByRole('checkbox', { name: /Revoked/ }).uncheck();
    await row(KEY_NAME).waitFor({ state: 'detached' });
  });

  it('leaves the secret nowhere once its dialog closed: not in the page, storage, or any other response', async () => {
    const html = await page.content();
    expect(html).not.toContain(secret);
    expect(html).not.toContain(secret.slice(6, 30));
    const storage = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    expect(storage).not.toContain(secret.slice(6));
    const bodies = await Promise.all(s.responses.map(async (r) => ({ ...r, text: await r.body })));
    const creates = bodies.filter((r) => r.method === 'POST' && /\/api_keys$/.test(new URL(r.url).pathname));
    expect(creates).toHaveLength(2);
    const leaks = bodies.filter((r) => !creates.includes(r) && r.text.includes(secret.slice(6)));
    expect(leaks.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    // No later test reads them.
    s.keepResponses = false;
    expect(bodies.filter((r) => r.method === 'GET' && /\/api_keys/.test(r.url)).length).toBeGreaterThan(1);
  });

  it('shows a banner for a key disabled because it was exposed', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'leaked-key' } })).body;
    const report = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: k.value, url: 'https://example.com/leak.env' }] } });
    expect(report.body.data[0].label).toBe('true_positive');
    await page.reload();
    const banner = page.locator('.banner-danger');
    await banner.getByText('leaked-key').waitFor();
    await expect(banner.textContent()).resolves.toContain('https://example.com/leak.env');
    await row('leaked-key').getByText('Exposed').waitFor();
  });

  it('finds, filters, sorts and pages through 200 keys by the API cursor', async () => {
    const p = t.defaultProjectId;
    const base = `${ORG}/projects/${p}/api_keys`;
    const made: Array<{ id: string; name: string; redacted_value: string }> = [];
    for (let i = 0; i < 200; i++) {
      const name = i % 50 === 7 ? `payments-${String(i).padStart(3, '0')}` : `worker-${String(i).padStart(3, '0')}`;
      made.push((await t.api('POST', base, { body: { name } })).body);
    }
    for (const k of made.slice(0, 10)) await t.api('DELETE', `${base}/${k.id}`);
    const db = t.server.runtime.database.db;
    await db.updateTable('api_keys').set({ last_used_at: 1_900_000_000 }).where('id', '=', made[120].id).execute();
    await page.goto(`${t.url}/#/api-keys?project=${p}`);
    await page.reload();
    const status = page.locator('.pager [aria-live]');
    // 200 made, 10 revoked (hidden), plus the earlier not-copied and leaked keys: 192 shown by default.
    await expect.poll(() => status.textContent()).toBe('1–50 of 192 keys');
    // Newest first: the last one made heads the list.
    await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-key-id')).toBe(made[199].id);
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => status.textContent()).toBe('51–100 of 192 keys');
    await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-key-id')).toBe(made[149].id);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => status.textContent()).toBe('151–192 of 192 keys');
    await expect(page.getByRole('button', { name: 'Next' }).isDisabled()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Previous' }).click();
    await expect.poll(() => status.textContent()).toBe('101–150 of 192 keys');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'api-keys.png', { fullPage: false });
    // Search by name: back to page one, only the matches.
    await page.getByLabel('Search').fill('payments');
    await expect.poll(() => status.textContent()).toBe('1–3 of 3 keys');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    // Revoked ones are hidden by default: payments-007 was revoked.
    await expect(row('payments-007').count()).resolves.toBe(0);
    await page.getByRole('checkbox', { name: /Revoked/ }).check();
    await row('payments-007').getByText('Revoked').waitFor();
    await expect.poll(() => status.textContent()).toBe('1–4 of 4 keys');
    // By the redacted value's tail, and by id.
    await page.getByLabel('Search').fill(made[42].redacted_value.slice(-4));
    await row('worker-042').waitFor();
    await page.getByLabel('Search').fill(made[43].id);
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await row('worker-043').waitFor();
    // Sort by name and by last use.
    await page.getByLabel('Search').fill('worker-1');
    await page.getByLabel('Sort by').selectOption('name');
    await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-key-id')).toBe(made[100].id);
    await page.getByLabel('Sort by').selectOption('last_used');
    await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-key-id')).toBe(made[120].id);
    // The filters are in the address: a reload keeps them.
    await page.reload();
    await expect.poll(() => page.locator('tbody tr').first().getAttribute('data-key-id')).toBe(made[120].id);
    await expect(page.getByLabel('Search').inputValue()).resolves.toBe('worker-1');
    await page.getByLabel('Search').fill('no key is called this');
    await page.getByRole('heading', { name: 'No keys match' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => status.textContent()).toBe('1–50 of 192 keys');
    await scan('api-keys (200 keys)', () => page.locator('tbody tr').first().waitFor());
  });

  it('keeps every row action on screen with a 256-character unbroken name at 1280 px', async () => {
    const long = 'x'.repeat(256);
    await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: long } });
    await page.getByLabel('Search').fill('xxxxxxxxxx');
    const r = page.locator('tbody tr').first();
    await r.waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    const revoke = r.getByRole('button', { name: /^Revoke x+$/ });
    await revoke.waitFor();
    const box = (await revoke.boundingBox()) as { x: number; width: number };
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    const table = (await page.locator('table.key-table').boundingBox()) as { width: number };
    expect(table.width).toBeLessThanOrEqual(1280);
    // The whole name is in the link's title, and on the key's page.
    const link = r.getByRole('link', { name: long });
    expect(await link.getAttribute('title')).toBe(long);
    await link.click();
    await page.getByRole('heading', { name: long, level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    await page.goBack();
    await page.getByLabel('Search').fill('');
  });

  it('shows badges for expiry, allowlists, limits and a rotation grace, which can be ended from the row', async () => {
    const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const now = Math.floor(Date.now() / 1000);
    const k = (
      await t.api('POST', base, {
        body: {
          name: 'badged',
          expires_at: now + 3 * 86_400 - 60,
          allowed_ips: ['127.0.0.1', '10.0.0.0/8'],
          allowed_models: ['tollgate-echo'],
          rate_limits: { max_requests_per_1_minute: 60 },
          spend_limit: { threshold_amount: 500, interval: 'month' },
          request_quota: { max_requests: 1000, interval: 'day' },
        },
      })
    ).body;
    const rotated = (await t.api('POST', `${base}/${k.id}/rotate`, { body: { grace_period_seconds: 3600 } })).body;
    await page.getByLabel('Search').fill('badged');
    const r = row('badged');
    for (const text of ['Expires in 3 days', 'IP-restricted', 'Model-restricted', 'Rate-limited', 'Budget $5.00 per month', 'Quota 1,000 requests per day']) {
      await r.getByText(text).waitFor();
    }
    await r.getByText('Previous secret valid until').waitFor();
    expect(await keyIsAccepted(t, k.value)).toBe(true);
    await r.getByRole('button', { name: 'End grace now for badged' }).click();
    const dialog = page.getByRole('dialog', { name: 'End the grace period' });
    await dialog.waitFor();
    await scan('end grace dialog', () => dialog.waitFor());
    await dialog.getByRole('button', { name: 'End grace period' }).click();
    await dialog.waitFor({ state: 'detached' });
    await r.getByText('Previous secret valid until').waitFor({ state: 'detached' });
    expect(await keyIsAccepted(t, k.value)).toBe(false);
    expect(await keyIsAccepted(t, rotated.value)).toBe(true);
    await shot(page, 'api-keys-badges.png');
  });

  it("shows on a key's own page the numbers of what was sent with it, refusals by reason, and its limits", async () => {
    const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const k = (await t.api('POST', base, { body: { name: 'measured', rate_limits: { max_requests_per_1_minute: 4 } } })).body;
    let input = 0;
    let output = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await chat(t, k.value, `question number ${i} with a few more words`);
      statuses.push(res.status);
      if (res.ok) {
        const body = await res.json();
        input += body.usage.prompt_tokens;
        output += body.usage.completion_tokens;
      }
    }
    const e = await embed(t, k.value, 'embed these words please');
    statuses.push(e.status);
    input += (await e.json()).usage.prompt_tokens;
    // Over its 4 requests a minute: refused by the rate limit.
    for (let i = 0; i < 2; i++) statuses.push((await chat(t, k.value)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    await t.server.gateway.usage.flush();

    await page.getByLabel('Search').fill('measured');
    await row('measured').getByRole('link', { name: 'measured' }).click();
    await page.getByRole('heading', { name: 'measured', level: 1 }).waitFor();
    const stat = (id: string) => page.getByTestId(id).locator('.stat-value');
    await expect.poll(() => stat('key-answered').textContent()).toBe('4');
    await expect.poll(() => stat('key-refused').textContent()).toBe('2');
    await expect.poll(() => stat('key-input-tokens').textContent()).toBe(input.toLocaleString('en-US'));
    await expect.poll(() => stat('key-output-tokens').textContent()).toBe(output.toLocaleString('en-US'));
    const refusals = page.locator('table.refusals');
    await refusals.locator('tr[data-reason="rate_limit"]').getByRole('rowheader', { name: 'Rate limit' }).waitFor();
    await expect(refusals.locator('tr[data-reason="rate_limit"] td.num').textContent()).resolves.toBe('2');
    await page.getByRole('cell', { name: 'rate_limit_exceeded' }).waitFor();
    await page.getByRole('rowheader', { name: /tollgate-echo/ }).first().waitFor();
    await page.getByText('4 requests/min').waitFor();
    await page.locator('.chart canvas').waitFor();
    // Its recent audit entries name it.
    await page.getByRole('heading', { name: 'Recent changes' }).waitFor();
    await page.locator('.audit-table').getByText('API key created').waitFor();
    await shot(page, 'key-page.png', { fullPage: true });
    await scan('key page', () => page.locator('.chart canvas').waitFor());
    // Every dialog of the key page.
    for (const [button, title] of [
      ['Edit', 'Edit secret key'],
      ['Rotate', 'Rotate secret key'],
      ['Revoke', 'Revoke secret key'],
    ] as const) {
      const dialog = page.getByRole('dialog', { name: title });
      await scan(
        `${title} dialog`,
        () => dialog.waitFor(),
        () => page.locator('.page-tools').getByRole('button', { name: button, exact: true }).click(),
        closeDialog,
      );
    }
  });

  it('edits every setting of a key in its dialog, and rotates it; the rotated secret is shown once and works', async () => {
    const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const k = (await t.api('POST', base, { body: { name: 'rotating', permissions: 'read_only' } })).body;
    await page.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}&q=rotating`);
    await page.getByRole('button', { name: 'Edit rotating' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit secret key' });
    await dialog.getByLabel('Name').fill('rotated');
    await dialog.getByText('Restricted').click();
    await dialog.getByLabel('Embeddings permission').selectOption('write');
    await dialog.getByText('Allowlists and limits').click();
    await dialog.getByLabel('Model allowlist').fill('tollgate-echo, gpt-4o-mini');
    await dialog.getByLabel('Requests per minute').fill('30');
    await dialog.getByLabel('Spend limit (USD)').fill('12.50');
    await dialog.getByLabel('Spend limit period').selectOption('week');
    await dialog.getByLabel('Request quota').fill('abc');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('The request quota must be a whole number').waitFor();
    await dialog.getByLabel('Request quota').fill('5000');
    await dialog.getByLabel('Expires').selectOption('30');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const saved = (await t.api('GET', `${base}/${k.id}`)).body;
    expect(saved).toMatchObject({
      name: 'rotated',
      allowed_models: ['tollgate-echo', 'gpt-4o-mini'],
      rate_limits: { max_requests_per_1_minute: 30 },
      spend_limit: { threshold_amount: 1250, interval: 'week' },
      request_quota: { max_requests: 5000, interval: 'total' },
    });
    expect(saved.permissions.restricted.embeddings).toBe('write');
    expect(saved.expires_at).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);

    await page.getByLabel('Search').fill('rotated');
    await page.getByRole('button', { name: 'Rotate rotated' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate secret key' });
    await rotate.getByLabel('Old secret stops working').selectOption('0');
    await rotate.getByRole('button', { name: 'Rotate key' }).click();
    const shown = page.getByRole('dialog', { name: 'Save your new key' });
    const second = await shown.getByTestId('secret').inputValue();
    expect(second).toMatch(/^sk-tg-/);
    expect(second).not.toBe(k.value);
    await shown.getByRole('button', { name: 'Copy' }).click();
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'detached' });
    expect(await keyIsAccepted(t, second)).toBe(true);
    expect(await keyIsAccepted(t, k.value)).toBe(false);
    expect(await page.content()).not.toContain(second);
  });

  it("saves only what the edit changed: a change saved by someone else while the dialog was open stays, and no change sends nothing", async () => {
    const base = `${ORG}/projects/${t.defaultProjectId}/api_keys`;
    const k = (await t.api('POST', base, { body: { name: 'shared-edit' } })).body;
    // Loaded afresh: the search box of a page already open keeps its text over a new address.
    await page.goto(`${t.url}/#/api-keys?project=${t.defaultProjectId}&q=shared-edit`);
    await page.reload();
    await page.getByRole('button', { name: 'Edit shared-edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit secret key' });
    await dialog.getByLabel('Name').waitFor();
    // Someone else restricts the key while this dialog is open.
    const other = { allowed_models: ['tollgate-echo'], allowed_ips: ['203.0.113.0/24'], permissions: 'read_only' };
    expect((await t.api('POST', `${base}/${k.id}`, { body: other })).status).toBe(200);
    await dialog.getByText('Allowlists and limits').click();
    await dialog.getByLabel('Requests per minute').fill('30');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await t.api('GET', `${base}/${k.id}`)).body).toMatchObject({ ...other, rate_limits: { max_requests_per_1_minute: 30 } });
    const audit = (await t.api('GET', `${ORG}/audit_logs?resource_ids[]=${k.id}&event_types[]=api_key.updated`)).body.data;
    expect(Object.keys(audit[0]['api_key.updated'].changes_requested)).toEqual(['rate_limits']);

    // Saved with nothing changed, the dialog closes without calling the API.
    const writes: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() !== 'GET' && r.url().includes(k.id)) writes.push(`${r.method()} ${r.url()}`);
    };
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Edit shared-edit' }).click();
    await dialog.getByLabel('Name').waitFor();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    page.off('request', onRequest);
    expect(writes).toEqual([]);
    expect((await t.api('GET', `${ORG}/audit_logs?resource_ids[]=${k.id}&event_types[]=api_key.updated`)).body.data).toHaveLength(2);
  });

  it('scans the create dialog in every view', async () => {
    await page.goto(`${t.url}/#/api-keys`);
    await page.locator('tbody tr').first().waitFor();
    const dialog = page.getByRole('dialog', { name: 'Create new secret key' });
    await scan(
      'create dialog',
      () => dialog.getByText('Allowlists and limits').waitFor(),
      async () => {
        await page.getByRole('button', { name: 'Create new secret key' }).click();
        await dialog.getByText('Allowlists and limits').click();
      },
      closeDialog,
    );
  });

  it('found no accessibility violation in any page or dialog, in light and dark, at 1280 and 375 px', () => {
    console.info(`[dashboard in a browser: sign-up and keys] axe scans: ${s.scans()}, violations: ${s.a11y.length}`);
    expect(s.a11y).toEqual([]);
    expect(s.scans()).toBeGreaterThanOrEqual(40);
  });

  it('logged no script errors or CSP violations', () => {
    expect(s.problems).toEqual([]);
  });
});
