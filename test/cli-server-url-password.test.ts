import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';

// Found by review: `--server https://ops:PASSWORD@host` was refused without printing the password only while the URL
// parsed; a password with '#', '/' or '?' (as generated passwords and base64 have) made it unparseable, and the
// refusal quoted the whole value: "expects an http:// or https:// URL, got 'https://ops:Pa55#word99XYZ@…'". Now a
// value with an '@' is refused as holding a user or password, unquoted, and a value that is not an http(s) URL is
// named by its scheme at most.

describe('a server URL holding a password, however it is spelt', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-server-pw-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function cli(server: string, viaEnv: boolean) {
    let err = '';
    const args = viaEnv ? ['projects', 'list'] : ['--server', server, '--admin-key', 'sk-tg-admin-x', 'projects', 'list'];
    const env = { LOG_LEVEL: 'silent', TOLLGATE_DATA_DIR: dir, ...(viaEnv ? { TOLLGATE_URL: server, TOLLGATE_ADMIN_KEY: 'sk-tg-admin-x' } : {}) };
    const code = await runCli(['node', 'tollgate', ...args], { env, out: () => {}, err: (t) => (err += t) });
    return { code, err };
  }

  it('is refused without printing it: # / ? in the password, a port-like password, another scheme', async () => {
    const secret = 'Pa55word99XYZ';
    for (const server of [
      'https://ops:Pa55#word99XYZ@tollgate.example.com',
      'https://ops:Pa55/word99XYZ@tollgate.example.com',
      'https://ops:Pa55?word99XYZ@tollgate.example.com',
      // Parses, as host "ops", port 1234 and a path holding the rest.
      'https://ops:1234/Pa55word99XYZ@tollgate.example.com',
      'ftp://ops:Pa55#word99XYZ@tollgate.example.com',
      'ops:Pa55word99XYZ@tollgate.example.com',
    ]) {
      for (const viaEnv of [false, true]) {
        const r = await cli(server, viaEnv);
        expect(r.code, server).toBe(1);
        expect(r.err, server).toMatch(/must not hold a user name or password/);
        expect(r.err, server).not.toContain(secret);
        expect(r.err, server).not.toContain('word99XYZ');
      }
    }
  });

  it('a value that is not an http(s) URL is named by its scheme at most', async () => {
    for (const [server, said] of [
      ['ops:Pa55word99XYZ', 'expects an http:// or https:// URL, got a URL with scheme ops:'],
      ['Pa55 word99XYZ', 'expects an http:// or https:// URL, got something that is not a URL'],
    ]) {
      const r = await cli(server, false);
      expect(r.code, server).toBe(1);
      expect(r.err, server).toContain(said);
      expect(r.err, server).not.toContain('word99XYZ');
    }
  });
});
