import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { describeWithPythonSdk } from './harness/python-sdk.js';
import { startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Python SDK (strict response validation) through its admin methods, for projects, keys and people:
// test/python/admin_people.py.
// Which Python, and when it is skipped: test/harness/python-sdk.ts.

const run = promisify(execFile);

describeWithPythonSdk('admin-python-people', (python) => {
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
});
