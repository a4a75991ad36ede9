import { spawn } from 'node:child_process';

// Runs checks with their output held while a suite writes to the terminal, then prints each check's verdict and
// output; used by `npm test` (test/harness/run-tests.mjs), tested by test/run-together.test.ts.

/** Runs a command with its output held; resolves to its exit code and output. */
function held(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ code: 1, out: `${out}${e.message}\n` }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), out }));
  });
}

/**
 * Starts every check (`{ label, command, args }`, output held) and the suite (`{ command, args }`, output to this
 * process's own) at once; when all have ended, writes each check's verdict and output with `write`, and resolves to 0
 * only if every check and the suite exited 0.
 */
export async function runTogether(checks, suite, write = (t) => process.stdout.write(t)) {
  const held_ = checks.map(async (c) => ({ label: c.label, ...(await held(c.command, c.args)) }));
  const suiteCode = await new Promise((resolve) => {
    const child = spawn(suite.command, suite.args, { stdio: 'inherit' });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  const results = await Promise.all(held_);
  for (const r of results) {
    write(`\n${r.label}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`}\n`);
    if (r.out) write(r.out.endsWith('\n') ? r.out : `${r.out}\n`);
  }
  const failed = [...results.filter((r) => r.code !== 0).map((r) => r.label), ...(suiteCode === 0 ? [] : [suite.label ?? 'suite'])];
  write(failed.length ? `\nFAILED: ${failed.join(', ')}\n` : `\npassed: ${[...results.map((r) => r.label), suite.label ?? 'suite'].join(', ')}\n`);
  return failed.length ? 1 : 0;
}
