import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// OpenAI's Python SDK (strict response validation) against the built-in model: test/python/echo_client.py.
//
// Which Python: TOLLGATE_PYTHON, else a `python3` that imports `openai`. This machine's package index is not PyPI, so
// the package cannot be counted on: .ci/run installs it in a venv when it can and exports TOLLGATE_PYTHON, or says
// TOLLGATE_PYTHON_SDK=unavailable when no index answered. The test then runs whenever the SDK is there; it is skipped
// when it is not, except under CI=true without that word from .ci/run (a CI that forgot to try must fail, not skip).

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
  console.warn(`echo-python: skipped, no Python with the openai package (${declaredUnavailable ? 'CI could not install it' : 'set TOLLGATE_PYTHON'})`);
}

describe.runIf(python !== null || mustRun)("tollgate-echo through OpenAI's Python SDK (strict validation)", () => {
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
