// `npm test [-- <vitest args>]`: the type check, the lint and the vitest suite, started together. The suite's files
// spend much of their time waiting (on a browser, a child process, a timeout under test), so the checks fit in the
// gaps instead of adding ~10 s before the first test starts (issue 14: npm test under a minute on a quiet machine).
// Vitest writes to the terminal as it runs; the checks' output is held and printed after it, with each one's verdict.
// The exit code is 0 only when all three passed.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { runTogether } from './run-together.mjs';

const node = process.execPath;
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
// The same scripts as `npm run typecheck` and `npm run lint`, through the npm that runs this (or the one on the PATH).
const npm = (label) =>
  process.env.npm_execpath
    ? { label, command: node, args: [process.env.npm_execpath, 'run', '--silent', label] }
    : { label, command: 'npm', args: ['run', '--silent', label] };

process.exit(await runTogether([npm('typecheck'), npm('lint')], { label: 'vitest', command: node, args: [vitest, 'run', ...process.argv.slice(2)] }));
