import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { generateSecret } from '../src/core/key-format.js';
import { type FakeKeyServer, startFakeKeyServer } from '../src/scanner/fake-key-server.js';
import { describeEachDatabase } from './harness/backends.js';
import { defaultProjectKeys, type TestServer, startTestServer } from './harness/server.js';

// A review found keys in names never scanned and printed (and reported, and echoed by the gateway) in full: a file
// named after a key, a directory, a committed path, an archive's entry. Names are scanned as text now, and no path
// leaves the scanner with a secret in it.

const ORG = '/v1/organization';
const projectKey = () => generateSecret('project', randomBytes);
const ADMIN = generateSecret('admin', randomBytes);
const ENV = { PATH: process.env.PATH, HOME: process.env.HOME };

async function scan(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'tollgate', 'scan', ...args], { env: ENV, out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

/** Neither stream holds the secret's random part (its redacted form shows the last four characters). */
function expectNowhere(run: { out: string; err: string }, ...secrets: string[]): void {
  for (const s of secrets) {
    expect(run.out).not.toContain(s.slice(0, -4));
    expect(run.err).not.toContain(s.slice(0, -4));
  }
}

const newDir = (name: string) => mkdtempSync(join(tmpdir(), `tollgate-${name}-`));
const gitIn = (dir: string) => (...a: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', ...a], { cwd: dir, env: ENV, encoding: 'utf8' }).trim();

describe('keys in file and directory names', () => {
  it('finds a key in a file name, names it redacted, and prints it whole in no format', async () => {
    const [named, inside] = [projectKey(), projectKey()];
    const dir = newDir('names');
    writeFileSync(join(dir, `${named}.json`), `{"key": "${inside}"}\n`);
    for (const format of [[], ['--json'], ['--sarif']]) {
      const run = await scan([dir, ...format]);
      expect(run.code).toBe(1);
      expectNowhere(run, named, inside);
    }
    const doc = JSON.parse((await scan([dir, '--json'])).out);
    const file = join(dir, `sk-tg-…${named.slice(-4)}.json`);
    expect(doc.findings).toEqual([
      expect.objectContaining({ file, in_name: true, line: 0, column: 0, redacted: `sk-tg-…${named.slice(-4)}` }),
      expect.objectContaining({ file, line: 1, column: 10, redacted: `sk-tg-…${inside.slice(-4)}` }),
    ]);
    expect((await scan([dir])).out).toContain(`${file} (name)  Tollgate project key sk-tg-…${named.slice(-4)}  NOT CHECKED`);
    const sarif = JSON.parse((await scan([dir, '--sarif'])).out).runs[0].results;
    expect(sarif[0]).toMatchObject({ ruleId: 'tollgate-secret', properties: { in_name: true } });
    expect(sarif[0].locations[0].physicalLocation.region).toBeUndefined();
  });

  it('finds a key in a directory name once, not once per file under it, and in a root named on the command line', async () => {
    const [named, root] = [projectKey(), projectKey()];
    const dir = newDir('dir-names');
    mkdirSync(join(dir, named, 'sub'), { recursive: true });
    for (const f of ['a.txt', 'b.txt', 'sub/c.txt']) writeFileSync(join(dir, named, f), 'nothing\n');
    const doc = JSON.parse((await scan([dir, '--json'])).out);
    expect(doc.findings).toEqual([expect.objectContaining({ file: join(dir, `sk-tg-…${named.slice(-4)}`), in_name: true })]);
    mkdirSync(join(dir, root));
    writeFileSync(join(dir, root, 'x'), '');
    const named2 = await scan([join(dir, root), '--json']);
    expect(JSON.parse(named2.out).findings).toEqual([expect.objectContaining({ file: join(dir, `sk-tg-…${root.slice(-4)}`), in_name: true })]);
    expectNowhere(named2, root);
  });

  it('redacts a key in the name of a file it only notes (too big to scan)', async () => {
    const named = projectKey();
    const dir = newDir('noted');
    writeFileSync(join(dir, `${named}.bin`), Buffer.alloc(2048));
    const run = await scan([dir, '--max-file-size', '1KB']);
    expect(run.err).toContain(`sk-tg-…${named.slice(-4)}.bin`);
    expectNowhere(run, named);
  });

  it('redacts a key in a path named on the command line that cannot be read', async () => {
    const named = projectKey();
    const run = await scan([join(newDir('missing'), named)]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`sk-tg-…${named.slice(-4)}`);
    expectNowhere(run, named);
  });
});

describe('keys in names in git', () => {
  it('--git finds a key in a committed file name (repro)', async () => {
    const named = projectKey();
    const dir = newDir('names-git');
    const git = gitIn(dir);
    git('init', '-q');
    writeFileSync(join(dir, named), 'cached token\n');
    git('add', '.');
    git('commit', '-qm', 'x');
    const run = await scan(['--git', dir, '--json']);
    expect(JSON.parse(run.out).findings).toEqual([
      expect.objectContaining({ file: `sk-tg-…${named.slice(-4)}`, in_name: true, commit: git('rev-parse', 'HEAD') }),
    ]);
    expectNowhere(run, named);
  });

  it('--git finds a key in a name a file was renamed to (its content already seen), in a directory, and in a branch name', async () => {
    const [renamed, directory, branch] = [projectKey(), projectKey(), projectKey()];
    const dir = newDir('names-git-rename');
    const git = gitIn(dir);
    git('init', '-q');
    writeFileSync(join(dir, 'token'), 'same content\n');
    git('add', '.');
    git('commit', '-qm', 'first');
    const first = git('rev-parse', 'HEAD');
    git('mv', 'token', renamed);
    mkdirSync(join(dir, directory));
    writeFileSync(join(dir, directory, 'a'), 'a\n');
    writeFileSync(join(dir, directory, 'b'), 'b\n');
    git('add', '.');
    git('commit', '-qm', 'second');
    const second = git('rev-parse', 'HEAD');
    git('branch', branch, first);
    const run = await scan(['--git', dir, '--json']);
    const findings = JSON.parse(run.out).findings;
    expect(findings).toHaveLength(3);
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: `sk-tg-…${renamed.slice(-4)}`, in_name: true, commit: second }),
        expect.objectContaining({ file: `sk-tg-…${directory.slice(-4)}`, in_name: true, commit: second }),
        expect.objectContaining({ file: `refs/heads/sk-tg-…${branch.slice(-4)}`, in_name: true, commit: null }),
      ]),
    );
    expectNowhere(run, renamed, directory, branch);
    expectNowhere(await scan(['--git', dir]), renamed, directory, branch);
  });

  it('--staged finds a key in a staged file name', async () => {
    const named = projectKey();
    const dir = newDir('names-staged');
    const git = gitIn(dir);
    git('init', '-q');
    writeFileSync(join(dir, `${named}.env`), 'x\n');
    git('add', '.');
    const run = await scan(['--staged', dir]);
    expect(run.code).toBe(1);
    expect(run.out).toContain(`sk-tg-…${named.slice(-4)}.env (name)`);
    expectNowhere(run, named);
  });
});

describe('keys in names reported to a server', () => {
  let server: FakeKeyServer;
  const [named, inside] = [projectKey(), projectKey()];
  beforeAll(async () => {
    server = await startFakeKeyServer(ADMIN, []);
  });
  afterAll(async () => server?.close());

  it('--report sends both keys, and no url holds a full secret', async () => {
    const dir = newDir('names-report');
    writeFileSync(join(dir, `${named}.env`), `KEY=${inside}\n`);
    const run = await scan([dir, '--report', '--server', server.url, '--admin-key', ADMIN]);
    expectNowhere(run, named, inside);
    const sent = server.requests.find((r) => r.path.endsWith('/report_exposed'))?.body as { reports: Array<{ token: string; url: string }> };
    expect(sent.reports.map((r) => r.token).sort()).toEqual([named, inside].sort());
    for (const r of sent.reports) {
      expect(r.url).not.toContain(named.slice(0, -4));
      expect(r.url).not.toContain(inside.slice(0, -4));
    }
  });
});

describeEachDatabase('keys in names against the server', (backend) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(backend);
  });
  afterAll(async () => t?.close());
  const newKey = (name: string) => defaultProjectKeys(t).newKey(name);
  const keyOf = (id: string) => defaultProjectKeys(t).keyOf(id);
  const refusal = async (secret: string) => (await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).text();
  const io = { env: { LOG_LEVEL: 'silent' }, out: () => {}, err: () => {} };

  it('does not put a key from a file name into exposed_url (repro), and disables both', async () => {
    const [a, b] = [await newKey('in-name'), await newKey('in-content')];
    const dir = newDir('leak-name');
    writeFileSync(join(dir, `${a.value}.env`), `KEY=${b.value}\n`);
    await runCli(['node', 'tollgate', '--server', t.url, '--admin-key', t.adminKey, 'scan', dir, '--report'], io);
    const body = await refusal(b.value);
    expect(body).not.toContain(a.value);
    expect((await keyOf(a.id)).status).toBe('exposed');
    expect((await keyOf(b.id)).status).toBe('exposed');
  });

  it('stores and echoes a reported url with any Tollgate key in it redacted, whoever reported it', async () => {
    const [a, b] = [await newKey('reported'), await newKey('in-url')];
    const url = `https://example.com/x/${b.value}/y?k=${a.value}`;
    const res = await t.api('POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: a.value, url, source: `src ${b.value}` }] } });
    expect(res.body.data[0]).toMatchObject({ label: 'true_positive', status: 'exposed' });
    const redacted = `https://example.com/x/sk-tg-…${b.value.slice(-4)}/y?k=sk-tg-…${a.value.slice(-4)}`;
    expect((await keyOf(a.id)).exposed_url).toBe(redacted);
    const refused = await refusal(a.value);
    expect(refused).toContain(redacted);
    expect(refused).not.toContain(b.value);
    const audit = await t.api('GET', `${ORG}/audit_logs?event_types=api_key.exposed&resource_ids=${a.id}`);
    expect(JSON.stringify(audit.body)).not.toContain(b.value);
    expect(JSON.stringify(audit.body)).not.toContain(a.value);
  });
});
