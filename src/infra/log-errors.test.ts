import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, safeErr, withSafeErrors } from './log-errors.js';

// Found by review: ioredis's error replies carry `command: {name, args}` (WRONGPASS: args ['3', 'AUTH', user,
// password]), Node's URL errors `input` (the whole URL), and pino logged every property of them.
const PW = 'Redis-pw-Zq9Xw8Vt7Rs6Qp5';

function replyError(): Error {
  const err = new Error('WRONGPASS invalid username-password pair or user is disabled.');
  Object.assign(err, { command: { name: 'hello', args: ['3', 'AUTH', 'default', PW] } });
  return err;
}

describe('errors as logged', () => {
  it('leave out what a client was sending or configured with, at any depth, and keep the rest', () => {
    const urlError = Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL', input: `redis://default:${PW}#x@cache:6379` });
    const wrapped = new Error('connecting failed', { cause: replyError() });
    Object.assign(wrapped, { previousErrors: [replyError(), urlError], detail: { options: { password: PW }, host: 'cache' } });
    for (const err of [replyError(), urlError, wrapped]) {
      const out = JSON.stringify(safeErr(err));
      expect(out).not.toContain(PW);
      expect(out).toContain(err.message);
    }
    expect(safeErr(urlError)).toMatchObject({ type: 'TypeError', message: 'Invalid URL', code: 'ERR_INVALID_URL' });
    expect(JSON.stringify(safeErr(wrapped))).toContain('"host":"cache"');
    expect(JSON.stringify(safeErr(wrapped))).toContain('WRONGPASS');
  });

  it("mask a URL's user and password in messages, however the password is spelt", () => {
    for (const url of [`redis://default:${PW}@cache:6379`, `rediss://u:${PW}/x#y?z@cache`, `postgres://app:${PW}@db/app`]) {
      const out = JSON.stringify(safeErr(new Error(`could not connect to ${url} now`)));
      expect(out, url).not.toContain(PW);
      expect(out, url).toContain('://***@');
    }
    expect(safeErr(`redis://default:${PW}@cache`)).toBe('redis://***@cache');
    // A password holding '@' is masked whole, to the last '@' before the host (found by review: `p@ss@db` left `ss`).
    expect(safeErr('connect failed for postgres://admin:p@ss-w0rd@db.internal:5432/app')).toBe('connect failed for postgres://***@db.internal:5432/app');
    // A stack frame's path under a scoped package holds an '@' and no credential: left as it is.
    const frame = 'at run (file:///work/node_modules/@vitest/runner/dist/index.js:1:2)';
    expect(safeErr(frame)).toBe(frame);
  });

  it('are so in the loggers Tollgate builds and in a logger handed in', () => {
    const lines: string[] = [];
    const handed = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    withSafeErrors(handed).warn({ err: replyError(), source: 'change-bus' }, 'retrying');
    withSafeErrors(handed).child({ a: 1 }).error(replyError());
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).toContain('WRONGPASS');
      expect(l).not.toContain(PW);
    }
    expect(createLogger('silent').level).toBe('silent');
  });
});
