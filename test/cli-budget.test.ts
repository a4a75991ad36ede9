import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { startTestServer, type TestServer } from './harness/server.js';

// `tollgate budget set` and `limits set`: a flag that does not apply, or an amount out of the admin API's bounds, is
// refused before the first write; a write the server refuses midway leaves the previous state, or says what is left.

const ORG = '/v1/organization';

describe('budget CLI refusals', () => {
  let t: TestServer;
  let spendLimit: string;
  let spendAlerts: string;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    spendLimit = `${ORG}/projects/${t.defaultProjectId}/spend_limit`;
    spendAlerts = `${ORG}/projects/${t.defaultProjectId}/spend_alerts`;
  }, 60_000);
  afterAll(async () => t?.close());

  async function cli(server: string, ...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', '--server', server, '--admin-key', t.adminKey, ...args], {
      env: { LOG_LEVEL: 'silent' },
      out: (s) => (out += s),
      err: (s) => (err += s),
    });
    return { code, out, err };
  }
  /** The project's spend limit and spend alerts, as the admin API shows them. */
  const projectBudget = async () => ({
    limit: (await t.api('GET', spendLimit)).body,
    alerts: (await t.api('GET', spendAlerts)).body.data.map((a: { id: string; threshold_amount: number }) => [a.id, a.threshold_amount]),
  });
  const keyLimits = async (id: string) => {
    const k = (await t.api('GET', `${ORG}/projects/${t.defaultProjectId}/api_keys/${id}`)).body;
    return { rate_limits: k.rate_limits, spend_limit: k.spend_limit, request_quota: k.request_quota };
  };

  it('refuses a project budget it cannot write in full, writing nothing', async () => {
    expect((await cli(t.url, 'budget', 'set', '--usd', '50', '--alerts', '50,80,100')).code).toBe(0);
    const before = await projectBudget();
    expect(before.alerts.map((a: [string, number]) => a[1])).toEqual([2500, 4000, 5000]);
    const refusals: Array<[string[], RegExp]> = [
      // A request quota is a key's: without --key it was neither written nor refused.
      [['--requests', '10'], /--requests .*--key/],
      [['--usd', '5', '--requests', '10'], /--requests .*--key/],
      // The limit is within bounds ($10B = 10^12 cents), its 1000 % alert is not: the limit was written before the alert was refused.
      [['--usd', '10000000000', '--alerts', '100,1000'], /--alerts 1000 % of \$10000000000\.00 .*more than/],
      // 1 % of a cent was stored as an alert of 0 cents.
      [['--usd', '0.01', '--alerts', '1'], /--alerts 1 % of \$0\.01 is less than a cent/],
      // Two percents of one amount in whole cents made two alerts of 1 cent each.
      [['--usd', '0.5', '--alerts', '1,2'], /--alerts 1 % and 2 % of \$0\.50 are both \$0\.01: /],
      [['--usd', '0.10', '--alerts', '14,5,80'], /--alerts 5 % and 14 % of \$0\.10 are both \$0\.01: /],
      [['--usd', '10000000000.01'], /--usd .*at most \$10000000000\.00/],
      [['--usd', '9'.repeat(20)], /--usd .*at most \$10000000000\.00/],
      [['--usd', '0x19'], /--usd expects an amount/],
      [['--usd', '1e3'], /--usd expects an amount/],
      [['--usd', 'Infinity'], /--usd expects an amount/],
      [['--usd', '1.234'], /--usd expects an amount/],
      [['--usd', '0'], /--usd expects an amount/],
      [['--usd', '5', '--alerts', ''], /--alerts was given an empty value/],
      [['--usd', '5', '--alerts', '50,,80'], /--alerts expects whole percents/],
      [['--usd', '5', '--interval', 'fortnight'], /--interval expects/],
      // Flags of the spend limit without one, and a request quota's interval without a quota, were ignored.
      [['--notify-only', '--requests', '5'], /--requests .*--key/],
      [['--requests-interval', 'day', '--usd', '5'], /--requests-interval needs --requests/],
    ];
    for (const [args, message] of refusals) {
      const r = await cli(t.url, 'budget', 'set', ...args);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 1, out: '' });
      expect(r.err).toMatch(message);
      expect(await projectBudget()).toEqual(before);
    }
  });

  it('refuses key budget flags that only a project has, and --model with --key, writing nothing', async () => {
    const k = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'budget-refusals' } })).body;
    const before = await keyLimits(k.id);
    const refusals: Array<[string[], RegExp]> = [
      // A key's spend limit tells at 50/80/100 % by itself and always enforces: both flags were dropped, the limit set enforcing.
      [['budget', 'set', '--key', k.id, '--usd', '5', '--alerts', '50'], /--alerts .*project/],
      [['budget', 'set', '--key', k.id, '--usd', '5', '--notify-only'], /--notify-only .*project/],
      [['budget', 'set', '--key', k.id, '--requests', '5', '--interval', 'week'], /--interval needs --usd/],
      [['budget', 'set', '--key', k.id, '--usd', '5', '--requests-interval', 'day'], /--requests-interval needs --requests/],
      [['budget', 'set', '--key', k.id, '--requests', '5', '--requests-interval', 'week'], /--requests-interval expects/],
      // A key's rate limits cover all its models: --model was dropped and the key limited for every model.
      [['limits', 'set', '--key', k.id, '--model', 'tollgate-echo', '--rpm', '5'], /--model .*--key/],
    ];
    for (const [args, message] of refusals) {
      const r = await cli(t.url, ...args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.err).toMatch(message);
      expect(await keyLimits(k.id)).toEqual(before);
    }
    expect((await cli(t.url, 'budget', 'set', '--key', k.id, '--usd', '5', '--requests', '7', '--requests-interval', 'month')).code).toBe(0);
    expect(await keyLimits(k.id)).toMatchObject({ spend_limit: { threshold_amount: 500, interval: 'month' }, request_quota: { max_requests: 7, interval: 'month' } });
    // The amount is read as the dashboard reads it: a "$" before it is the dollar sign, not a refusal.
    expect((await cli(t.url, 'budget', 'set', '--key', k.id, '--usd', '$ 9.50')).code).toBe(0);
    expect(await keyLimits(k.id)).toMatchObject({ spend_limit: { threshold_amount: 950, interval: 'month' } });
  });

  it('leaves the previous budget when the server refuses a write midway, and names what it could not undo', async () => {
    expect((await cli(t.url, 'budget', 'set', '--usd', '50', '--alerts', '50,80,100')).code).toBe(0);
    const before = await projectBudget();
    // A proxy in front of the server that refuses one kind of call, as a server refusing one write would.
    let refuse: (method: string, url: string) => boolean = () => false;
    const proxy = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      if (refuse(req.method ?? '', req.url ?? '')) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'refused by the test', code: 'test_refusal' } }));
        return;
      }
      const up = await fetch(t.url + req.url, { method: req.method, headers: { authorization: String(req.headers.authorization), 'content-type': 'application/json' }, body: body || undefined });
      res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const via = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      // The spend limit is refused after the new alerts were made: they go again, the old ones stay.
      refuse = (method, url) => method === 'POST' && url.endsWith('/spend_limit');
      let r = await cli(via, 'budget', 'set', '--usd', '10', '--alerts', '90');
      expect(r.code).toBe(1);
      expect(r.err).toContain('refused by the test');
      expect(r.err).toContain('nothing was changed');
      expect(await projectBudget()).toEqual(before);
      // The second new alert is refused: the first goes again.
      let alertsMade = 0;
      refuse = (method, url) => method === 'POST' && url.endsWith('/spend_alerts') && ++alertsMade === 2;
      r = await cli(via, 'budget', 'set', '--usd', '10', '--alerts', '50,90');
      expect(r.code).toBe(1);
      expect(r.err).toContain('nothing was changed');
      expect(await projectBudget()).toEqual(before);
      // The old alerts cannot be deleted: the new budget is in place, and the message names the alerts left over.
      refuse = (method) => method === 'DELETE';
      r = await cli(via, 'budget', 'set', '--usd', '10', '--alerts', '90');
      expect(r.code).toBe(1);
      const after = await projectBudget();
      expect(after.limit.threshold_amount).toBe(1000);
      expect(after.alerts.map((a: [string, number]) => a[1])).toEqual([2500, 4000, 5000, 900]);
      for (const [id] of before.alerts) expect(r.err).toContain(id);
      expect(r.err).toContain('could not be deleted');
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
