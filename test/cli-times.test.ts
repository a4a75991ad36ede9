import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCli, localCli } from './harness/local-cli.js';

// Found by review: the times the CLI takes (`--expires`, `audit --since`, `usage --since/--until`) fell back on V8's
// Date.parse, which reads nearly anything: `--expires 2027-02-30` made a key expiring on 2 March, `'foo 2030'` one
// expiring on 1 January 2030, `audit --since 'Dec 1'` listed from 1 December 2001, and a time without a zone was read
// in the machine's time zone. Now a time is unix seconds, a span from now, or ISO 8601 exactly (a date or time without
// a zone read as UTC), a day the calendar does not have refused, naming the flag.

describe('CLI times', () => {
  let local: LocalCli;
  beforeAll(() => {
    local = localCli('cli-times');
  });
  afterAll(() => local.remove());
  const cli = (...args: string[]) => local.run(...args);

  it('refuses what is not a time, or a day the calendar does not have, creating nothing', async () => {
    for (const when of ['2027-02-30', '2026-02-29', '2027-04-31', '2027-13-01', 'foo 2030', 'Dec 1 2030', '2030-1-2', '2030-01-02 03:04', '2030-01-02T24:00', '2030-01-02T03:60', '2030-01-02T03:04:05+25:00', '1e9', '-5']) {
      const key = await cli('keys', 'create', '--name', 'timed', '--expires', when);
      expect(key.code, when).toBe(1);
      expect(key.err, when).toMatch(/--expires expects unix seconds, an ISO 8601 date or time/);
      const admin = await cli('admin-keys', 'create', '--name', 'timed', '--expires', when);
      expect(admin.code, when).toBe(1);
      expect(admin.err, when).toMatch(/--expires expects/);
    }
    expect((await cli('--json', 'keys', 'list')).json().data.map((k: { name: string }) => k.name)).not.toContain('timed');
    for (const args of [['audit', '--since', 'Dec 1'], ['usage', '--since', 'Dec 1'], ['usage', '--until', '2027-02-30'], ['usage', '--since', 'foo 2030']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err, args.join(' ')).toMatch(new RegExp(`${args[1]} expects unix seconds, an ISO 8601 date or time`));
    }
  });

  it('reads an ISO 8601 date or time without a zone as UTC, and one with a zone at its offset', async () => {
    // Years ahead of whatever today is (the suite runs with the clock moved ten years too), a leap year among them.
    const y = new Date().getUTCFullYear() + 5;
    const leap = [y, y + 1, y + 2, y + 3].find((n) => (n % 4 === 0 && n % 100 !== 0) || n % 400 === 0) ?? y;
    const cases: Array<[string, number]> = [
      [`${y}-01-02`, Date.UTC(y, 0, 2) / 1000],
      [`${leap}-02-29`, Date.UTC(leap, 1, 29) / 1000],
      [`${y}-01-02T03:04`, Date.UTC(y, 0, 2, 3, 4) / 1000],
      [`${y}-01-02T03:04:05`, Date.UTC(y, 0, 2, 3, 4, 5) / 1000],
      [`${y}-01-02T03:04:05.999Z`, Date.UTC(y, 0, 2, 3, 4, 5) / 1000],
      [`${y}-01-02T03:04+02:00`, Date.UTC(y, 0, 2, 1, 4) / 1000],
      [`${y}-01-02T03:04:05-05:30`, Date.UTC(y, 0, 2, 8, 34, 5) / 1000],
      [String(Date.UTC(y, 0, 1) / 1000), Date.UTC(y, 0, 1) / 1000],
    ];
    for (const [when, expected] of cases) {
      const r = await cli('--json', 'keys', 'create', '--name', `at ${when}`, '--expires', when);
      expect(r.code, `${when}: ${r.err}`).toBe(0);
      expect(r.json().expires_at, when).toBe(expected);
    }
  });
});
