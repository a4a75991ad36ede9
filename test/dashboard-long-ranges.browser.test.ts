import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chat, type DashboardSession, describeBrowser, ORG, openDashboard, signInOwner } from './harness/dashboard-browser.js';
import { gatewayConfigFile, type TestServer } from './harness/server.js';

// Long ranges on the usage page. The page read at most 20 pages of buckets, oldest first, and said nothing: past 140
// days per hour (20 × 168 hours) or 620 days per day (20 × 31 days) it left out the newest buckets, today's usage with
// them. With 6 requests today, From 150 days ago per hour showed "Answered requests 0", $0.00 and an empty CSV; From
// 700 days ago per day the same, where the Usage API paged to its end (22–23 pages) counted the 6. Now every page is
// read, up to a bound the form states.

/** USD as the dashboard writes it in Chromium's en-US locale. */
const usd = (v: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 }).format(v);

const DAY = 86_400;

describeBrowser('dashboard in a browser: usage over long ranges', () => {
  let s: DashboardSession;
  let t: TestServer;
  let page: Page;
  const refused: string[] = [];

  beforeAll(async () => {
    // A price, so that the cost shown is more than $0.00.
    const config = gatewayConfigFile({ pricing: { 'tollgate-echo': { input: 100_000, cached_input: 100_000, output: 100_000 } } });
    s = await openDashboard({ env: { TOLLGATE_CONFIG: config } });
    ({ t, page } = s);
    await signInOwner(s);
    page.on('response', (r) => {
      if (r.status() >= 400) refused.push(new URL(r.url()).pathname);
    });
  });

  afterAll(async () => {
    await s?.close();
  });

  it("shows today's usage and cost for a range of 150 days per hour and 700 days per day", async () => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Long range project' } })).body.id;
    const key = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'long-range-key' } })).body;
    for (let i = 0; i < 3; i++) expect((await chat(t, key.value, `long ${i}`)).status).toBe(200);
    await t.server.gateway.usage.flush();
    // The UTC day the server counted them in, and their cost as the Costs API sums it (whatever the date of the run).
    const since = Math.floor(Date.now() / 1000) - 2 * DAY;
    const costs = (await t.api('GET', `${ORG}/costs?start_time=${since}&project_ids=${p}&limit=7`)).body;
    const withCost = costs.data.filter((b: { results: unknown[] }) => b.results.length > 0);
    expect(withCost).toHaveLength(1);
    const today: number = withCost[0].start_time;
    const total = withCost[0].results.reduce((a: number, r: { amount: { value: number } }) => a + Math.round(r.amount.value * 1e9), 0) / 1e9;
    expect(usd(total)).not.toBe('$0.00');
    const iso = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 10);

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Long range project' });
    const stat = (id: string) => page.getByTestId(id).locator('.stat-value');
    await expect.poll(() => stat('answered').textContent()).toBe('3');

    // Each range is read first ending yesterday (none of the requests), then ending today: the page keeps the numbers
    // it shows while the next load runs, so that "3" is the long range's answer, not the one before it.
    const longRange = async (days: number, width: '1h' | '1d') => {
      await page.getByLabel('Per', { exact: true }).selectOption(width);
      await page.getByLabel('To').fill(iso(today - DAY));
      await page.getByLabel('From').fill(iso(today - days * DAY));
      await expect.poll(() => stat('answered').textContent(), { timeout: 30_000 }).toBe('0');
      await expect.poll(() => stat('cost').textContent(), { timeout: 30_000 }).toBe('$0.00');
      await page.getByLabel('To').fill(iso(today));
      await expect.poll(() => stat('answered').textContent(), { timeout: 30_000, message: `${days} days per ${width}` }).toBe('3');
      await expect.poll(() => stat('cost').textContent(), { timeout: 30_000, message: `${days} days per ${width}` }).toBe(usd(total));
      await page.locator('.chart').waitFor();
    };
    // 150 days per hour: 3,624 hours, 22 pages of 168.
    await longRange(150, '1h');
    // 700 days per day: 701 days, 23 pages of 31.
    await longRange(700, '1d');

    // Past what the page reads (120 pages of each kind: 840 days per hour), it says so and shows no numbers.
    await page.getByLabel('From').fill(iso(today - 900 * DAY));
    await page.getByLabel('Per', { exact: true }).selectOption('1h');
    await page.getByRole('alert').filter({ hasText: 'Per hour, a range is at most 840 days' }).waitFor();
    await expect.poll(() => stat('answered').textContent()).toBe('—');
    await expect(stat('cost').textContent()).resolves.toBe('—');
    // Per day the same range is read whole.
    await page.getByLabel('Per', { exact: true }).selectOption('1d');
    await expect.poll(() => stat('answered').textContent(), { timeout: 30_000 }).toBe('3');
    await expect.poll(() => stat('cost').textContent(), { timeout: 30_000 }).toBe(usd(total));
    // The refusals by reason (kept TOLLGATE_USAGE_RETENTION_DAYS) span at most 400 days: the server refuses longer
    // ones, and that section says so. Nothing else was refused.
    expect(new Set(refused)).toEqual(new Set(['/auth/dashboard/refusals']));
    expect(s.problems.filter((m) => !m.includes('status of 400'))).toEqual([]);
  });

  it('reads a list past 20 pages to its end, and shows an error, not part of the range, when bucket pages do not end', async () => {
    // Lists were read the same way, 20 pages of 100 at most: the 2,001st member (or project, or key) was left out.
    const me = (await t.api('GET', `${ORG}/users?limit=1`)).body.data[0];
    const users = Array.from({ length: 2_050 }, (_, i) => ({ ...me, id: `user-many${i}`, name: `Many ${i}`, email: `many${i}@example.com` }));
    await page.route('**/v1/organization/users?*', (route) => {
      const after = new URL(route.request().url()).searchParams.get('after');
      const from = after ? users.findIndex((u) => u.id === after) + 1 : 0;
      const data = users.slice(from, from + 100);
      route.fulfill({ json: { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + 100 < users.length } });
    });
    await page.goto(`${t.url}/#/settings/members`);
    await page.getByText('many2049@example.com').waitFor();
    await page.unroute('**/v1/organization/users?*');

    // A server whose bucket pages run past the range's: the page says so rather than show what it read.
    await page.route('**/v1/organization/usage/completions?*', (route) => {
      const start = Number(new URL(route.request().url()).searchParams.get('start_time'));
      route.fulfill({ json: { object: 'page', data: [{ object: 'bucket', start_time: start, end_time: start + DAY, results: [] }], has_more: true, next_page: 'more' } });
    });
    await page.goto(`${t.url}/#/usage`);
    await page.getByRole('alert').filter({ hasText: 'nothing is shown rather than part of it' }).waitFor();
    await expect.poll(() => page.getByTestId('answered').locator('.stat-value').textContent()).toBe('—');
    await page.unroute('**/v1/organization/usage/completions?*');
  });
});
