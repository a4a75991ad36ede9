import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { describeWithPythonSdk } from './harness/python-sdk.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { SessionClient, signUpOwner } from './harness/session-client.js';
import { usageEvent } from './harness/usage-event.js';

// OpenAI's Python SDK (strict response validation) through its audit log, usage and costs methods:
// test/python/admin_audit_usage.py.
// Which Python, and when it is skipped: test/harness/python-sdk.ts.

const run = promisify(execFile);
const D = 1_736_121_600;

describeWithPythonSdk('admin-python-audit-usage', (python) => {
  describeEachDatabase("Audit logs, usage and costs through OpenAI's Python SDK (strict validation)", (backend) => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer(backend);
    });
    afterAll(async () => t?.close());

    it('answers every call of the script, each validated by the SDK', async () => {
      expect(python, 'CI=true but no Python with the openai package, and .ci/run did not say it could not install one').not.toBeNull();
      const owner = await signUpOwner(t);
      expect((await owner.call('POST', '/auth/logout')).status).toBeLessThan(300);
      expect((await new SessionClient(t.url).call('POST', '/auth/login', { email: 'owner@example.com', password: 'correct horse battery' })).status).toBe(200);
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await t.api(method, `/v1/organization${path}`, { body });
        expect(res.status, res.text).toBe(200);
        return res.body;
      };
      const project = (await api('POST', '/projects', { name: 'Py audited' })).id;
      for (let i = 0; i < 3; i++) await api('POST', `/projects/${project}`, { name: `Py audited ${i}` });
      await api('POST', '/users', { email: 'py.audited@example.com', role: 'reader' });
      const keyA = (await api('POST', `/projects/${project}/api_keys`, { name: 'Py key A' })).id;
      const keyB = (await api('POST', `/projects/${project}/api_keys`, { name: 'Py key B', permissions: 'read_only' })).id;
      await api('POST', '/webhooks', { url: 'https://hooks.example.com/py' });
      for (const [i, [key, cost]] of [
        [keyA, 1_000_000],
        [keyB, 250_000],
      ].entries()) {
        t.server.gateway.usage.record(
          usageEvent({
            id: `evt_py_${i}`,
            orgId: t.orgId,
            projectId: project,
            apiKeyId: key as string,
            createdAtMs: (D + 60) * 1000,
            inputTokens: 10,
            outputTokens: 5,
            costNanoUsd: cost as number,
            serviceTier: i === 0 ? 'default' : 'flex',
          }),
        );
      }
      await t.server.gateway.usage.flush();
      const fixture = { project, key_a: keyA, key_b: keyB, day: D, admin_key_id: t.adminKeyId };
      const { stdout } = await run(python as string, [join(import.meta.dirname, 'python', 'admin_audit_usage.py')], {
        env: { ...process.env, TOLLGATE_URL: t.url, TOLLGATE_ADMIN_KEY: t.adminKey, TOLLGATE_FIXTURE: JSON.stringify(fixture) },
        timeout: 90_000,
      });
      const seen = JSON.parse(stdout.trim().split('\n').at(-1) as string);
      expect(seen.ok).toBe(true);
      expect(seen.strict_refuses_tollgate_types).toBe(true);
      // The lenient client read Tollgate's own types too.
      expect(seen.audit_types).toEqual(expect.arrayContaining(['webhook.created', 'admin_api_key.created', 'project.updated']));
    }, 120_000);
  });
});
