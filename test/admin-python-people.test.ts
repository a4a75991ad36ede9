import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Python SDK (strict response validation) through its admin methods, for projects, keys and people:
// test/python/admin_people.py. Which Python, and when it is skipped, as test/echo-python.test.ts: TOLLGATE_PYTHON, else
// a `python3` that imports `openai`; skipped when there is none, except under CI=true unless .ci/run said it could not
// install the package (TOLLGATE_PYTHON_SDK=unavailable).

const run = promisify(execFile);

function pythonWithSdk(): string | null {
  for (const python of [process.env.TOLLGATE_PYTHON, 'python3']) {
    if (!python) continue;
    try {
      execFileSync(python, ['-c', 'import openai'], { stdio: 'ignore', timeout: 20_000 });
      return python;
    } catch {
      // not there, or without the package
    }
  }
  return null;
}

const python = pythonWithSdk();
const declaredUnavailable = process.env.TOLLGATE_PYTHON_SDK === 'unavailable';
const mustRun = process.env.CI === 'true' && !declaredUnavailable;
if (!python && !mustRun) {
  console.warn(`admin-python-people: skipped, no Python with the openai package (${declaredUnavailable ? 'CI could not install it' : 'set TOLLGATE_PYTHON'})`);
}

if (python !== null || mustRun) {
  describeEachDatabase("Admin API through OpenAI's Python SDK (strict validation)", (backend) => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(backend);
    });
    afterAll(async () => t?.close());

    it('answers every admin call of the script, each validated by the SDK, lists across several pages', async () => {
      expect(python, 'CI=true but no Python with the openai package, and .ci/run did not say it could not install one').not.toBeNull();
      const users = [];
      for (let i = 0; i < 4; i++) users.push((await t.api('POST', '/v1/organization/users', { body: { email: `py.user${i}@example.com` } })).body);
      const { stdout } = await run(python as string, [join(import.meta.dirname, 'python', 'admin_people.py')], {
        env: { ...process.env, TOLLGATE_URL: t.url, TOLLGATE_ADMIN_KEY: t.adminKey, TOLLGATE_USERS: JSON.stringify(users) },
        timeout: 90_000,
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(seen.ok).toBe(true);
      expect(seen.projects_listed).toBeGreaterThanOrEqual(4);
    }, 120_000);
  });
} else {
  // A file without a suite fails vitest's run ("No test suite found"): skipped, it says so instead.
  describe.skip("Admin API through OpenAI's Python SDK (no Python with the openai package)", () => {
    it('skipped', () => {});
  });
}
