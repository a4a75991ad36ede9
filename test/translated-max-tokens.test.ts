import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwoProviders, type TwoProviders } from './harness/provider-servers.js';

// The openai SDK calling a Claude model with a max_tokens / max_completion_tokens that is no integer of 1 or more.
// Anthropic reads max_tokens 0 as warming its prompt cache without an answer, and OpenAI refuses 0: forwarded, a
// chat client got a 200 with content null and finish_reason length for max_completion_tokens 0, and -1 and 1.5 went
// to Anthropic as they came. Refused with a 400 in OpenAI's shape naming the field that carried it, never forwarded.

const ORG = '/v1/organization';
const SONNET = 'claude-sonnet-4-5-20250929';

async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    return err as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error('the call succeeded');
}

describe('max_tokens the translation to Anthropic cannot honour', () => {
  let p: TwoProviders;
  let openai: OpenAI;

  beforeAll(async () => {
    p = await startTwoProviders();
    const key = (await p.t.api('POST', `${ORG}/projects/${p.t.defaultProjectId}/api_keys`, { body: { name: 'max' } })).body.value;
    openai = new OpenAI({ apiKey: key, baseURL: `${p.t.url}/v1`, maxRetries: 0, timeout: 15_000 });
  });
  afterAll(async () => p?.close());

  const ask = (limit: Record<string, unknown>) =>
    openai.chat.completions.create({ model: SONNET, messages: [{ role: 'user', content: 'x' }], ...limit } as OpenAI.ChatCompletionCreateParamsNonStreaming);

  it.each([
    [{ max_completion_tokens: 0 }, 'max_completion_tokens'],
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_completion_tokens: -1 }, 'max_completion_tokens'],
    [{ max_tokens: -1 }, 'max_tokens'],
    [{ max_completion_tokens: 1.5 }, 'max_completion_tokens'],
    [{ max_tokens: 1.5 }, 'max_tokens'],
    [{ max_completion_tokens: '10' }, 'max_completion_tokens'],
    [{ max_tokens: true }, 'max_tokens'],
    [{ max_completion_tokens: 0, max_tokens: 0 }, 'max_completion_tokens'],
  ])('%o: a 400 naming %s, not forwarded', async (limit, param) => {
    const before = p.anthropic.seen.length;
    const err = await failure(ask(limit));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, param, code: 'invalid_value', type: 'invalid_request_error' });
    expect(err.message).toContain(param);
    expect(p.anthropic.seen.length).toBe(before);
  });

  it('1, from either field, is sent as max_tokens 1', async () => {
    for (const limit of [{ max_completion_tokens: 1 }, { max_tokens: 1 }]) {
      await ask(limit);
      expect(JSON.parse(p.anthropic.seen.at(-1)!.body).max_tokens).toBe(1);
    }
  });
});
