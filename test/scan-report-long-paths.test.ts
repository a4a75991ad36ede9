import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { describeEachDatabase } from './harness/backends.js';
import { defaultProjectKeys, type TestServer, startTestServer } from './harness/server.js';

// Review finding: report_exposed caps a report's url at 2,048 characters and refuses the whole body past it; the CLI
// built the url from the path uncapped, so one deeply nested file left every key of its batch of 100 live.

describeEachDatabase('scan --report with a long path', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());
  const newKey = (name: string) => defaultProjectKeys(t).newKey(name);
  const keyOf = (id: string) => defaultProjectKeys(t).keyOf(id);

  it('disables every key found, the one under a path longer than a url may be too, and says where it was', async () => {
    const [near, deep] = [await newKey('near'), await newKey('deep')];
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-long-'));
    writeFileSync(join(dir, 'a.env'), `KEY=${near.value}\n`);
    const nested = join(dir, ...Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(200, 'd')));
    mkdirSync(nested, { recursive: true });
    writeFileSync(join(nested, 'deep.env'), `KEY=${deep.value}\n`);
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, 'scan', dir, '--report'], {
      env: { LOG_LEVEL: 'silent' },
      out: (s) => (out += s),
      err: (s) => (err += s),
    });
    expect(err).not.toContain('reporting to');
    expect(code).toBe(1); // the keys were live when found
    expect((await keyOf(near.id)).status).toBe('exposed');
    const exposed = await keyOf(deep.id);
    expect(exposed.status).toBe('exposed');
    expect(exposed.exposed_url).toMatch(/^file:\/\/\/.*%E2%80%A6.*\/deep\.env#L1$/);
    expect(exposed.exposed_url.length).toBeLessThanOrEqual(2048);
    expect(out).not.toContain('Could not report');
  });
});
