import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPythonSdk } from './harness/python-sdk.js';
import { startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Python SDK (strict response validation) against the built-in model: test/python/echo_client.py.
//
// Which Python, and when it is skipped: test/harness/python-sdk.ts.

const run = promisify(execFile);

describeWithPythonSdk('echo-python', (python) => {
  describe("tollgate-echo through OpenAI's Python SDK (strict validation)", () => {
    let t: TestServer;
    let key: string;
    beforeAll(async () => {
      t = await startTestServer({ name: 'sqlite' });
      key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'python' } })).body.value;
    });
    afterAll(async () => t?.close());

    it('answers every call of the script, helpers included, with its request ids', async () => {
      expect(python, 'CI=true but no Python with the openai package, and .ci/run did not say it could not install one').not.toBeNull();
      const { stdout } = await run(python as string, [join(import.meta.dirname, 'python', 'echo_client.py')], {
        env: { ...process.env, TOLLGATE_URL: t.url, TOLLGATE_KEY: key },
        timeout: 60_000,
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(seen.request_id).toMatch(/^req_/);
      expect(seen.error_request_id).toMatch(/^req_/);
      expect(seen.response_events).toContain('response.output_item.done');
    }, 90_000);
  });
});
