import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeAnthropic, startFakeAnthropic } from './fake-anthropic-upstream.js';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream.js';
import { startTestServer, type TestServer } from './server.js';

/** The provider keys the fakes expect (never a Tollgate key). */
export const ANTHROPIC_PROVIDER_KEY = 'sk-ant-api03-provider-secret-0123456789';
export const OPENAI_PROVIDER_KEY = 'sk-openai-provider-secret-0123456789';

export interface TwoProviders {
  t: TestServer;
  anthropic: FakeAnthropic;
  openai: FakeUpstream;
  close(): Promise<void>;
}

/**
 * A Tollgate server with two providers, each a fake the test starts: `anthropic` (kind anthropic: claude-* routes to
 * it) and `openai` (OpenAI-compatible: gpt-* and the default). A price is configured for the cached Claude model the
 * fake answers with cache writes and reads.
 */
export async function startTwoProviders(): Promise<TwoProviders> {
  const anthropic = await startFakeAnthropic(ANTHROPIC_PROVIDER_KEY);
  const openai = await startFakeUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-two-'));
  const file = join(dir, 'tollgate.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: [
        { name: 'openai', base_url: openai.url, api_key_env: 'OPENAI_UP_KEY', timeouts: { total_ms: 20_000 } },
        { name: 'anthropic', kind: 'anthropic', base_url: anthropic.url, api_key_env: 'ANTHROPIC_UP_KEY', timeouts: { total_ms: 20_000 } },
      ],
      routes: { 'claude-*': 'anthropic', 'gpt-*': 'openai' },
      default_provider: 'openai',
      pricing: {
        'claude-sonnet-4-5-cached': { input: 3, cached_input: 0.3, cache_write_input: 3.75, cache_write_1h_input: 6, output: 15 },
        'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 },
      },
    }),
  );
  const t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, ANTHROPIC_UP_KEY: ANTHROPIC_PROVIDER_KEY, OPENAI_UP_KEY: OPENAI_PROVIDER_KEY } });
  return {
    t,
    anthropic,
    openai,
    close: async () => {
      await t.close();
      await anthropic.close();
      await openai.close();
    },
  };
}
