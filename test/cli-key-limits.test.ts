import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCli, localCli } from './harness/local-cli.js';

// Found by review: `limits set --key K --rpm 5` after `--tpm 1000` sent {rate_limits: {rpm: 5}}, and the API replaces a
// key's rate limits whole, so the TPM limit was gone. A project's limits merged; a key's now do too, and `none`
// removes one limit of either.

describe('limits set on a key (local data dir)', () => {
  let local: LocalCli;
  beforeAll(() => {
    local = localCli('cli-limits');
  });
  afterAll(() => local.remove());
  const cli = (...args: string[]) => local.run(...args);
  const rateLimits = async (id: string) => (await cli('--json', 'keys', 'show', id)).json().rate_limits;

  it('keeps the limits it was not given, and removes one named none', async () => {
    const key = (await cli('--json', 'keys', 'create', '--name', 'limited')).json();
    expect((await cli('limits', 'set', '--key', key.id, '--tpm', '1000')).code).toBe(0);
    const rpm = await cli('limits', 'set', '--key', key.id, '--rpm', '5');
    expect(rpm.code, rpm.err).toBe(0);
    expect(await rateLimits(key.id)).toMatchObject({ max_requests_per_1_minute: 5, max_tokens_per_1_minute: 1000 });
    const removed = await cli('limits', 'set', '--key', key.id, '--tpm', 'none', '--rpd', '100');
    expect(removed.code, removed.err).toBe(0);
    const after = await rateLimits(key.id);
    expect(after).toMatchObject({ max_requests_per_1_minute: 5, max_requests_per_1_day: 100 });
    expect(after.max_tokens_per_1_minute ?? null).toBeNull();
  });

  it('removes one limit of a project with none, keeping the others', async () => {
    expect((await cli('limits', 'set', '--rpm', '60', '--tpm', '10000')).code).toBe(0);
    const removed = await cli('limits', 'set', '--rpm', 'none');
    expect(removed.code, removed.err).toBe(0);
    const rows = (await cli('--json', 'limits', 'list')).json().data;
    expect(rows.find((r: { model: string }) => r.model === '*')).toMatchObject({ max_tokens_per_1_minute: 10000, max_requests_per_1_minute: 9007199254740991 });
  });

  it('refuses a value that is neither a positive whole number nor none', async () => {
    const r = await cli('limits', 'set', '--rpm', '0');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--rpm.*positive whole number or none/);
  });
});
