import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// A stranger (no account, no key) may not write audit entries or log lines without end through the routes that take
// no credential: every refusal counts against its address, and once the address is locked it is answered 429 with
// nothing written. Bursts sent at once count as if sent in turn. Addresses come through a trusted proxy (127.0.0.1).

const OWNER = { email: 'owner@example.com', password: 'violet staple harbour' };
/** What a stranger may write from one address before it is locked: 20 refusals (the address's budget) and the lock. */
const ADDRESS_BUDGET = 20;

describeEachDatabase('refusal floods', (backend) => {
  let t: TestServer;
  const logLines: string[] = [];

  beforeAll(async () => {
    const logger = pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) });
    t = await startTestServer(backend, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' }, logger });
    const res = await post('/auth/signup', { ...OWNER, setup_token: t.setupToken }, '192.0.2.1');
    expect(res.status).toBe(200);
  });
  afterAll(async () => t?.close());

  async function post(path: string, body: unknown, from: string, headers: Record<string, string> = {}) {
    const res = await fetch(t.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from, ...headers },
      body: JSON.stringify(body),
    });
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
    return { status: res.status, body: (await res.json()) as any, headers: res.headers };
  }

  /** Audit entries written from an address (or, with a trailing ':', from every address starting so). */
  async function rowsFrom(ip: string): Promise<number> {
    const q = t.server.runtime.database.db.selectFrom('audit_logs').select((eb) => eb.fn.countAll().as('n'));
    const row = await (ip.endsWith(':') ? q.where('ip', 'like', `${ip}%`) : q.where('ip', '=', ip)).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  const linesFrom = (ip: string) => logLines.filter((l) => l.includes(`"ip":"${ip}`)).length;

  it('sign-ups refused for any reason, 300 at once from one address: at most the address budget is written, the rest are 429', async () => {
    const from = '203.0.113.10';
    const bodies = [
      { email: 'stranger@example.com', password: 'a long stranger passphrase' }, // no invitation
      { email: 'stranger@example.com', password: 'a long stranger passphrase', setup_token: 'x'.repeat(32) }, // closed
      { email: 'not an email', password: 'x' }, // the schema's
      { email: `${'a'.repeat(300)}@example.com`, password: 'a long stranger passphrase', unknown: 1 },
    ];
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => post('/auth/signup', bodies[i % bodies.length], from)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(300 - ADDRESS_BUDGET);
    expect(statuses.filter((s) => s !== 429).every((s) => s === 400 || s === 403)).toBe(true);
    const throttled = answers.find((a) => a.status === 429);
    expect(throttled?.body.error).toMatchObject({ code: 'too_many_attempts', type: 'rate_limit_error' });
    expect(Number(throttled?.headers.get('retry-after'))).toBeGreaterThan(0);
    // The refusals (signup.failed) and the one lock (login.locked), and as many warn lines.
    expect(await rowsFrom(from)).toBe(ADDRESS_BUDGET + 1);
    expect(linesFrom(from)).toBe(ADDRESS_BUDGET + 1);
    // The address's count is shared with sign-ins: it is locked there too; another address is not.
    expect((await post('/auth/login', OWNER, from)).status).toBe(429);
    expect((await post('/auth/login', OWNER, '198.51.100.30')).status).toBe(200);
  });

  it('a refused sign-up from an address with room left still signs up nobody and is still audited', async () => {
    const res = await post('/auth/signup', { email: 'x@example.com', password: 'a long stranger passphrase' }, '203.0.113.11');
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('insufficient_permissions');
    expect(await rowsFrom('203.0.113.11')).toBe(1);
  });

  it('failed sign-ins, 300 at once from one address: at most the address budget is written', async () => {
    const from = '203.0.113.12';
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => post('/auth/login', { email: `user${i}@example.com`, password: 'guess guess' }, from)),
    );
    expect(answers.filter((a) => a.status === 401)).toHaveLength(ADDRESS_BUDGET);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(300 - ADDRESS_BUDGET);
    expect(await rowsFrom(from)).toBe(ADDRESS_BUDGET + 1);
  });

  it("sign-ups walking through the /64s of one IPv6 /48 are locked with the /48's budget", async () => {
    const prefix = '2001:db8:77:';
    let written = 0;
    for (let i = 0; i < 40; i++) {
      const from = `${prefix}${i.toString(16)}::1`;
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => post('/auth/signup', { email: 'someone@example.com', password: 'a long stranger passphrase' }, from)),
      );
      written += answers.filter((a) => a.status !== 429).length;
    }
    // 16 addresses' budget (320 refusals) for the whole /48, then it is locked: 480 tried, 320 written.
    expect(written).toBe(ADDRESS_BUDGET * 16);
    expect(await rowsFrom(prefix)).toBe(ADDRESS_BUDGET * 16 + 1);
  });

  it('unsigned secret-scanning reports: counted as key guesses, then refused 429 without a log line', async () => {
    const from = '203.0.113.13';
    const report = [{ token: 'sk-tg-whatever', type: 'tollgate_api_key', url: 'https://example.com', source: 'content' }];
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) statuses.push((await post('/v1/secret-scanning/reports', report, from)).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(70);
    expect(logLines.filter((l) => l.includes('secret-scanning report refused') && l.includes(from))).toHaveLength(30);
  });
});

describe('refusal floods, before any account', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_TRUST_PROXY: '127.0.0.1' } });
  });
  afterAll(async () => t?.close());

  it('sign-ups without a setup token, or a malformed one, count too: the address is locked, and the right token waits', async () => {
    const from = '203.0.113.20';
    for (let i = 0; i < ADDRESS_BUDGET; i++) {
      const body = i % 2 ? { ...OWNER } : { ...OWNER, setup_token: '\u0001bad' };
      const res = await fetch(`${t.url}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify(body),
      });
      expect([400, 401]).toContain(res.status);
    }
    const res = await fetch(`${t.url}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify({ ...OWNER, setup_token: t.setupToken }),
    });
    expect(res.status).toBe(429);
  });
});
