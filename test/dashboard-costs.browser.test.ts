import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type DashboardSession, describeBrowser, ORG, openDashboard, signInOwner } from './harness/dashboard-browser.js';
import { type FakeUpstream, startFakeUpstream } from './harness/fake-upstream.js';
import { gatewayConfigFile, type TestServer } from './harness/server.js';

// Money on the dashboard against the server's own sums: a key spends on chat, an image and speech through a fake
// upstream, and the usage page's cost and the key page's cost equal the Costs API's total and the budgets' "used".
// They once summed the usage of chat and embeddings only, and showed less than the budget beside them.

/** USD as the dashboard writes it in Chromium's en-US locale. */
const usd = (v: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 }).format(v);

describeBrowser('dashboard in a browser: cost of every kind', () => {
  let s: DashboardSession;
  let t: TestServer;
  let page: Page;
  let up: FakeUpstream;

  beforeAll(async () => {
    up = await startFakeUpstream();
    // Prices high enough that each part of the spend shows in cents: chat ~$0.18, the image $0.04, speech $0.11.
    const config = gatewayConfigFile({
      providers: [{ name: 'fake', base_url: up.url, api_key_env: 'FAKE_UPSTREAM_KEY' }],
      pricing: { 'gpt-4o-mini': { input: 10_000, output: 10_000 }, 'tts-1': { characters: 10_000 } },
    });
    s = await openDashboard({ env: { TOLLGATE_CONFIG: config, FAKE_UPSTREAM_KEY: 'sk-upstream' } });
    ({ t, page } = s);
    await signInOwner(s);
  });

  afterAll(async () => {
    await s?.close();
    await up?.close();
  });

  it('counts chat, image and speech spend in the usage and key pages\' cost, as the Costs API and the budgets do', async () => {
    const p = (await t.api('POST', `${ORG}/projects`, { body: { name: 'Media project' } })).body.id;
    expect((await t.api('POST', `${ORG}/projects/${p}/spend_limit`, { body: { threshold_amount: 500, interval: 'day' } })).status).toBe(200);
    const k = (await t.api('POST', `${ORG}/projects/${p}/api_keys`, { body: { name: 'media-key', spend_limit: { threshold_amount: 300, interval: 'day' } } })).body;
    const send = (path: string, body: object) =>
      fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${k.value}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const statuses = [
      // A bound on the answer, so that the reservation (at these prices) fits the budgets.
      (await send('/chat/completions', { model: 'gpt-4o-mini', max_completion_tokens: 20, messages: [{ role: 'user', content: 'hello' }] })).status,
      (await send('/images/generations', { model: 'dall-e-3', prompt: 'a tollgate' })).status,
      (await send('/audio/speech', { model: 'tts-1', input: 'hello world', voice: 'alloy' })).status,
    ];
    expect(statuses).toEqual([200, 200, 200]);
    await t.server.gateway.usage.flush();

    // The Costs API's total for the project, and what of it is chat: the rest (image and speech) must show too.
    const since = Math.floor(Date.now() / 1000) - 2 * 86_400;
    const costs = (await t.api('GET', `${ORG}/costs?start_time=${since}&project_ids=${p}&group_by=line_item&limit=7`)).body;
    const items = costs.data.flatMap((b: { results: Array<{ line_item: string; amount: { value: number } }> }) => b.results);
    const nano = (pred: (item: string) => boolean) => items.filter((r: { line_item: string }) => pred(r.line_item)).reduce((a: number, r: { amount: { value: number } }) => a + Math.round(r.amount.value * 1e9), 0);
    const total = nano(() => true) / 1e9;
    const chatOnly = nano((item) => item.startsWith('gpt-4o-mini,')) / 1e9;
    expect(nano((item) => item.startsWith('dall-e-3,'))).toBe(40_000_000);
    expect(nano((item) => item.startsWith('tts-1,'))).toBe(11 * 10_000_000);
    expect(usd(total)).not.toBe(usd(chatOnly));

    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Media project' });
    const stat = (id: string) => page.getByTestId(id).locator('.stat-value');
    await expect.poll(() => stat('cost').textContent()).toBe(usd(total));
    // Answered requests count the image and the speech too.
    await expect.poll(() => stat('answered').textContent()).toBe('3');
    // The project's budget beside it says the same.
    const budget = page.locator('section', { has: page.getByRole('heading', { name: 'Spend against budget' }) });
    await budget.locator('.standing', { hasText: 'Media project' }).getByText(`${usd(total)} of $5.00 per day`).waitFor();
    // The cost chart by model names the image and speech models with their cost.
    await page.getByLabel('Show').selectOption('cost');
    const table = page.locator('table.compact');
    await expect.poll(() => table.getByRole('row', { name: /dall-e-3/ }).getByRole('cell').last().textContent()).toBe('$0.04');
    await expect(table.getByRole('row', { name: /tts-1/ }).getByRole('cell').last().textContent()).resolves.toBe('$0.11');
    // Per hour, cost stays per day (the Costs API's buckets), and says so.
    await page.getByLabel('Per', { exact: true }).selectOption('1h');
    await page.getByText('Cost is shown per day').waitFor();
    await expect(stat('cost').textContent()).resolves.toBe(usd(total));

    // The key's page: its cost is what its own budget has used.
    await page.goto(`${t.url}/#/api-keys/${k.id}?project=${p}`);
    await page.getByRole('heading', { name: 'media-key', level: 1 }).waitFor();
    await expect.poll(() => page.getByTestId('key-cost').locator('.stat-value').textContent()).toBe(usd(total));
    await expect.poll(() => page.getByTestId('key-answered').locator('.stat-value').textContent()).toBe('3');
    await page.locator('.standing', { hasText: "This key's spend limit" }).getByText(`${usd(total)} of $3.00 per day`).waitFor();
    const models = page.locator('table', { has: page.getByText('Answered requests by model') });
    await expect.poll(() => models.getByRole('row', { name: /dall-e-3/ }).getByRole('cell').last().textContent()).toBe('$0.04');
    await models.getByRole('row', { name: /tts-1/ }).getByText('speech').waitFor();
    expect(s.problems).toEqual([]);
  });
});
