import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';

// Found by review: `--json` printed `limits list`, `providers list`, `providers credentials list` and `objects list` as
// a bare array, while `keys list`, `projects list` and `admin-keys list` printed the API's list envelope. Every list
// command now prints {"object": "list", "data": [...]}, all pages in `data`.

let dir: string;
let env: Record<string, string | undefined>;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-lists-'));
  env = { TOLLGATE_DATA_DIR: dir, LOG_LEVEL: 'silent' };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function json(...args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'tollgate', '--json', ...args], { env, out: (t) => (out += t), err: (t) => (err += t) });
  expect(code, `${args.join(' ')}: ${err}`).toBe(0);
  return JSON.parse(out);
}

it('prints every list in the list envelope with --json', async () => {
  await json('limits', 'set', '--rpm', '60');
  const provider = await json('providers', 'create', 'listed', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'listed-model');
  await json('providers', 'credentials', 'add', provider.id, '--value', 'sk-listed-provider-key-0123456789');
  await json('objects', 'assign', 'file-listed', '--project', 'Default project');
  const lists: Array<[string[], string]> = [
    [['keys', 'list'], ''],
    [['projects', 'list'], 'Default project'],
    [['admin-keys', 'list'], ''],
    [['limits', 'list'], 'rl-*'],
    [['providers', 'list'], provider.id],
    [['providers', 'credentials', 'list', provider.id], 'pcred_'],
    [['objects', 'list'], 'file-listed'],
  ];
  for (const [args, holds] of lists) {
    const list = await json(...args);
    expect(list, args.join(' ')).toMatchObject({ object: 'list', data: expect.any(Array) });
    if (holds) expect(JSON.stringify(list.data), args.join(' ')).toContain(holds);
  }
});
