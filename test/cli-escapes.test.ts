import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import type { UsageEventsTable } from '../src/storage/schema-usage.js';
import { rollUpUsage } from '../src/storage/usage-rollup-writes.js';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { usageRow } from './harness/usage-event.js';

// Issue 16 §3: a key or model name holding terminal escape codes rewrote the terminal of whoever listed it. The CLI
// shows such text as git shows a path — quoted, escaped — in every table and sentence; --json stays exact.

/** Clears the screen, retitles the terminal, rings, a C1 CSI, a right-to-left override, and a forged second line. */
const EVIL = '\u001b[2J\u001b]0;pwned\u0007evil\u009b31m\u202etxt.exe\nforged row';
const SHOWN = '"\\033[2J\\033]0;pwned\\aevil\\u009b31m\\u202etxt.exe\\nforged row"';
/** What may never reach a terminal: C0 controls but the newline, DEL, C1, bidi overrides and isolates. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describeEachDatabase('CLI output of untrusted text', (backend) => {
  let t: TestServer;
  let keyId: string;

  async function cli(...args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, ...args], {
      env: { LOG_LEVEL: 'silent' },
      out: (s) => (out += s),
      err: (s) => (err += s),
    });
    return { code, out, err };
  }

  beforeAll(async () => {
    t = await startTestServer(backend);
    const db = t.server.runtime.database.db;
    // Stored below the door checks (they refuse such names now): data written before them, or by other means.
    keyId = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'placeholder' } })).body.id;
    await db.updateTable('api_keys').set({ name: EVIL }).where('id', '=', keyId).execute();
    const event: UsageEventsTable = usageRow({
      id: 'evt_evil',
      created_at_ms: t.server.runtime.deps.clock() - 3_600_000,
      org_id: t.orgId,
      project_id: t.defaultProjectId,
      api_key_id: keyId,
      model: EVIL,
      input_tokens: 5,
      output_tokens: 7,
    });
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('usage_events').values(event).execute();
      await rollUpUsage(trx, [event]);
    });
  });
  afterAll(async () => t?.close());

  function expectSafe(text: string) {
    expect(text).not.toMatch(UNSAFE);
    expect(text).not.toContain('\u001b');
  }

  it('keys list and keys show: the name quoted and escaped, one line per row', async () => {
    const list = await cli('keys', 'list', '--project', t.defaultProjectId);
    expect(list.code).toBe(0);
    expectSafe(list.out);
    expect(list.out).toContain(SHOWN);
    const lines = list.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2); // the header and the one key
    expect(lines.some((l) => l.startsWith('forged row'))).toBe(false);
    const show = await cli('keys', 'show', keyId, '--project', t.defaultProjectId);
    expectSafe(show.out);
    expect(show.out).toContain(SHOWN);
  });

  it('usage --by model: the model quoted and escaped', async () => {
    const r = await cli('usage', '--by', 'model', '--since', '2d');
    expect(r.code).toBe(0);
    expectSafe(r.out);
    expect(r.out).toContain(SHOWN);
    expect(r.out.split('\n').some((l) => l.startsWith('forged row'))).toBe(false);
  });

  it('--json stays exact', async () => {
    const keys = await cli('keys', 'list', '--project', t.defaultProjectId, '--json');
    expectSafe(keys.out);
    expect(JSON.parse(keys.out).data.find((k: { id: string }) => k.id === keyId).name).toBe(EVIL);
    const usage = await cli('usage', '--by', 'model', '--since', '2d', '--json');
    expectSafe(usage.out);
    const row = JSON.parse(usage.out).data.find((x: { model: string }) => x.model === EVIL);
    expect(row).toMatchObject({ requests: 1, input: 5, output: 7 });
  });

  it('errors, its own and the server’s, reach the terminal escaped too', async () => {
    const unknown = await cli(`--evil\u001b[2J`);
    expect(unknown.code).not.toBe(0);
    expectSafe(unknown.err);
    expect(unknown.err).toContain('\\033[2J');
    const refused = await cli('projects', 'create', 'red\u001b[31m');
    expect(refused.code).toBe(1);
    expectSafe(refused.err);
    expect(refused.err).toContain('U+001B');
  });
});
