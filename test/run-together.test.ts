import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the test runner, without types
import { runTogether } from './harness/run-together.mjs';

// npm test runs the type check and the lint beside the suite (test/harness/run-tests.mjs): it must fail when any of
// the three fails, and show what a failing check printed.

const node = process.execPath;
const exit = (label: string, code: number, text = '') => ({ label, command: node, args: ['-e', `process.stdout.write(${JSON.stringify(text)}); process.exit(${code})`] });

async function run(checks: ReturnType<typeof exit>[], suite: ReturnType<typeof exit>) {
  let out = '';
  const code = await runTogether(checks, suite, (t: string) => {
    out += t;
  });
  return { code, out };
}

describe('npm test runs its checks beside the suite', () => {
  it('passes only when every check and the suite pass', async () => {
    const r = await run([exit('typecheck', 0), exit('lint', 0)], exit('vitest', 0));
    expect(r.code).toBe(0);
    expect(r.out).toContain('typecheck: passed');
    expect(r.out).toContain('lint: passed');
  });

  it('fails when a check fails, and shows what it printed', async () => {
    const r = await run([exit('typecheck', 2, "src/a.ts(1,1): error TS2304: Cannot find name 'x'."), exit('lint', 0)], exit('vitest', 0));
    expect(r.code).toBe(1);
    expect(r.out).toContain('typecheck: FAILED (exit 2)');
    expect(r.out).toContain("Cannot find name 'x'");
    expect(r.out).toContain('FAILED: typecheck');
  });

  it('fails when the suite fails, even with every check passing', async () => {
    const r = await run([exit('typecheck', 0), exit('lint', 0)], exit('vitest', 1));
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAILED: vitest');
  });

  it('fails when a check cannot start', async () => {
    const r = await run([{ label: 'lint', command: '/nonexistent/biome', args: [] }], exit('vitest', 0));
    expect(r.code).toBe(1);
    expect(r.out).toContain('lint: FAILED');
  });
});
