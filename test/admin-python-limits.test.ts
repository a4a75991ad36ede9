import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { describeWithPythonSdk } from './harness/python-sdk.js';
import { startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Python SDK (strict response validation) through its admin methods for project rate limits, spend limits
// and spend alerts: test/python/admin_limits.py.
// Which Python, and when it is skipped: test/harness/python-sdk.ts.

const run = promisify(execFile);
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'o3', 'o4-mini'];

describeWithPythonSdk('admin-python-limits', (python) => {
  describeEachDatabase("rate limits and spend through OpenAI's Python SDK (strict validation)", (backend) => {
    let t: TestServer;
    beforeAll(async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'tollgate-py-limits-')), 'tollgate.config.json');
      writeFileSync(file, JSON.stringify({ providers: [{ name: 'up', base_url: 'http://127.0.0.1:9', auth: 'none', models: MODELS }] }));
      t = await startTestServer(backend, { env: { TOLLGATE_CONFIG: file } });
    });
    afterAll(async () => t?.close());

    it('answers every call of the script, each validated by the SDK, lists across several pages', async () => {
      expect(python, 'CI=true but no Python with the openai package, and .ci/run did not say it could not install one').not.toBeNull();
      const { stdout } = await run(python as string, [join(import.meta.dirname, 'python', 'admin_limits.py')], {
        env: { ...process.env, TOLLGATE_URL: t.url, TOLLGATE_ADMIN_KEY: t.adminKey, TOLLGATE_MODELS: JSON.stringify(MODELS) },
        timeout: 90_000,
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(seen).toMatchObject({ ok: true, rate_limits: MODELS.length, 'project.spend_alert': 5, 'organization.spend_alert': 5 });
    }, 120_000);
  });
});
