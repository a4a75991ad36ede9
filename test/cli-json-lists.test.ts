import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalCli, localCli } from './harness/local-cli.js';

// Found by review: `--json` printed `limits list`, `providers list`, `providers credentials list` and `objects list` as
// a bare array, while `keys list`, `projects list` and `admin-keys list` printed the API's list envelope. Every list
// command now prints {"object": "list", "data": [...]}, all pages in `data`.

let local: LocalCli;
beforeAll(() => {
  local = localCli('cli-lists');
});
afterAll(() => local.remove());

async function json(...args: string[]) {
  const run = await local.run('--json', ...args);
  expect(run.code, `${args.join(' ')}: ${run.err}`).toBe(0);
  return run.json();
}

it('prints every list in the list envelope with --json', async () => {
  await json('limits', 'set', '--rpm', '60');
  const provider = await json('providers', 'create', 'listed', '--base-url', 'http://127.0.0.1:9/v1', '--model', 'listed-model');
  await json('providers', 'credentials', 'add', provider.id, '--value', 'sk-listed-provider-key-0123456789');
  await json('objects', 'assign', 'file-listed', '--project', 'Default project');
  await json('invites', 'create', 'listed@example.com', '--role', 'reader');
  const lists: Array<[string[], string]> = [
    [['keys', 'list'], ''],
    [['projects', 'list'], 'Default project'],
    [['admin-keys', 'list'], ''],
    [['limits', 'list'], 'rl-*'],
    [['providers', 'list'], provider.id],
    [['providers', 'credentials', 'list', provider.id], 'pcred_'],
    [['objects', 'list'], 'file-listed'],
    [['users', 'list'], ''],
    [['invites', 'list'], 'listed@example.com'],
    [['projects', 'users', 'list'], ''],
    [['service-accounts', 'list'], 'svc_acct_'],
  ];
  for (const [args, holds] of lists) {
    const list = await json(...args);
    expect(list, args.join(' ')).toMatchObject({ object: 'list', data: expect.any(Array) });
    if (holds) expect(JSON.stringify(list.data), args.join(' ')).toContain(holds);
  }
});
