// `npm run test:shifted [-- <vitest args>]`: the whole vitest suite with the machine's clock moved years ahead, then
// years back (before every date the suites pin), to prove that no test passes only because of today's date (issue 14).
// TOLLGATE_TEST_SHIFTS overrides the shifts, in days, comma-separated (default 3650,-3650).
//
// The clock is moved by libfaketime (Debian's `faketime`), preloaded into vitest and inherited by every process it
// starts: workers, child servers, the CLI, git, the browser, Python. A shim of JavaScript's Date was tried first;
// it cannot move the browser or git, and the dashboard then asked a real-dated browser's "last 7 days" of a server
// ten years away: a failure of the harness, not of the code. faketime moves the monotonic clocks by the same offset,
// which elapsed times do not see; leaving them alone (--exclude-monotonic) hangs Chromium's start.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const shifts = (process.env.TOLLGATE_TEST_SHIFTS ?? '3650,-3650').split(',').map((s) => s.trim());
for (const s of shifts) {
  if (!/^[+-]?\d+$/.test(s) || Number(s) === 0) throw new Error(`TOLLGATE_TEST_SHIFTS: '${s}' is not a non-zero whole number of days`);
}
if (spawnSync('faketime', ['-f', '+0d', 'true']).status !== 0) {
  process.stderr.write('test:shifted needs faketime (Debian/Ubuntu: apt-get install faketime; macOS: brew install libfaketime)\n');
  process.exit(1);
}
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

for (const days of shifts.map(Number)) {
  const offset = `${days > 0 ? '+' : ''}${days}d`;
  const day = new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  process.stdout.write(`\ntest:shifted: the suite with the clock moved ${offset}, to ${day}\n`);
  const run = spawnSync('faketime', ['-f', offset, process.execPath, vitest, 'run', ...process.argv.slice(2)], {
    stdio: 'inherit',
    // Read by test/shifted-clock.test.ts, which checks the clock really moved.
    env: { ...process.env, TOLLGATE_TEST_SHIFT_DAYS: String(days) },
  });
  if (run.status !== 0) {
    process.stdout.write(`test:shifted: failed with the clock moved ${offset}\n`);
    process.exit(run.status ?? 1);
  }
}
