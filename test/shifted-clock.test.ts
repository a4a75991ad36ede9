import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `npm run test:shifted` (test/harness/run-shifted.mjs) proves the suites pass whatever today's date is only if the
// clock really moved, in this process and in the processes tests start. Without the shift (`npm test`), the same
// checks prove that nothing moved it. The real time comes from the kernel's boot time plus uptime (/proc), which
// faketime does not touch.

const run = promisify(execFile);
const DAY = 86_400_000;
const shiftDays = Number(process.env.TOLLGATE_TEST_SHIFT_DAYS ?? '0');
const hasProc = existsSync('/proc/uptime') && existsSync('/proc/stat');

/** The kernel's real time in milliseconds (1 s resolution: boot time is whole seconds). */
function realNow(): number {
  const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
  const uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  return (bootSeconds + uptimeSeconds) * 1000;
}

/** How far `now` is from the real time, in days. */
const driftDays = (now: number) => (now - realNow()) / DAY;

describe.skipIf(!hasProc)('the clock of npm run test:shifted', () => {
  it('moves this process by TOLLGATE_TEST_SHIFT_DAYS days (and not at all without it)', () => {
    expect(driftDays(Date.now())).toBeCloseTo(shiftDays, 2);
  });

  it('moves the processes a test starts by the same days: Node and others', async () => {
    const { stdout: node } = await run(process.execPath, ['-e', 'console.log(Date.now())'], { env: process.env });
    expect(driftDays(Number(node))).toBeCloseTo(shiftDays, 2);
    const { stdout: date } = await run('date', ['+%s'], { env: process.env });
    expect(driftDays(Number(date) * 1000)).toBeCloseTo(shiftDays, 2);
  });
});
