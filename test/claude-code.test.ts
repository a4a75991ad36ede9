import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANTHROPIC_PROVIDER_KEY, startTwoProviders, type TwoProviders } from './harness/provider-servers.js';

// Claude Code (the @anthropic-ai/claude-code npm package, a native binary of ~400 MB) driven non-interactively
// (`claude -p`) against Tollgate and the fake Anthropic upstream. It is not a dependency of this repository: set
// CLAUDE_CODE_BIN to its binary (node_modules/@anthropic-ai/claude-code/bin/claude.exe after `npm install
// @anthropic-ai/claude-code` anywhere) to run this suite; without it the suite is skipped.

const BIN = process.env.CLAUDE_CODE_BIN;
const run = promisify(execFile);

describe.skipIf(!BIN)('Claude Code against Tollgate', () => {
  let p: TwoProviders;
  let home: string;
  const ORG = '/v1/organization';
  const newKey = async () => (await p.t.api('POST', `${ORG}/projects/${p.t.defaultProjectId}/api_keys`, { body: { name: 'claude-code' } })).body as { id: string; value: string };
  const claude = async (env: Record<string, string>, timeout = 90_000) => {
    try {
      const { stdout } = await run(BIN as string, ['-p', 'Say hello', '--model', 'claude-sonnet-4-5-20250929', '--output-format', 'json'], {
        cwd: home,
        timeout,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          ANTHROPIC_BASE_URL: p.t.url,
          DISABLE_AUTOUPDATER: '1',
          DISABLE_TELEMETRY: '1',
          DISABLE_ERROR_REPORTING: '1',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          ...env,
        },
      });
      return { ok: true, out: JSON.parse(stdout) as Record<string, unknown> };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, out: { text: `${e.stdout ?? ''}${e.stderr ?? ''}` } };
    }
  };

  beforeAll(async () => {
    p = await startTwoProviders();
    home = mkdtempSync(join(tmpdir(), 'tollgate-claude-code-'));
  });
  afterAll(async () => {
    await p?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('works with a Tollgate key in ANTHROPIC_API_KEY (x-api-key) or ANTHROPIC_AUTH_TOKEN (bearer), metered', async () => {
    for (const env of [{ ANTHROPIC_API_KEY: 'key' }, { ANTHROPIC_AUTH_TOKEN: 'key' }]) {
      const key = await newKey();
      const named = Object.fromEntries(Object.keys(env).map((k) => [k, key.value]));
      p.anthropic.seen.length = 0;
      const result = await claude(named);
      expect(result.ok, JSON.stringify(result.out)).toBe(true);
      expect(result.out).toMatchObject({ type: 'result', is_error: false, result: 'Hello!' });
      const sent = p.anthropic.seen.filter((s) => s.url.startsWith('/v1/messages'));
      expect(sent.length).toBeGreaterThan(0);
      for (const s of sent) {
        expect(s.headers['x-api-key']).toBe(ANTHROPIC_PROVIDER_KEY);
        expect(JSON.stringify(s.headers)).not.toContain(key.value);
      }
      expect(String(sent[0].headers['anthropic-beta'])).toContain('claude-code-');
      await p.t.server.gateway.usage.flush();
      const events = await p.t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).execute();
      expect(events.some((e) => e.endpoint === '/messages' && e.outcome === 'ok' && e.billable === 1 && e.streamed === 1)).toBe(true);
    }
  }, 120_000);

  it('gets nothing through with a revoked key (it keeps retrying the 401s and the throttle\'s 429s: cut after 15 s)', async () => {
    const key = await newKey();
    await p.t.api('DELETE', `${ORG}/projects/${p.t.defaultProjectId}/api_keys/${key.id}`);
    const before = p.anthropic.seen.length;
    const result = await claude({ ANTHROPIC_API_KEY: key.value }, 15_000);
    expect(result.ok).toBe(false);
    expect(p.anthropic.seen.length).toBe(before);
  }, 60_000);
});
