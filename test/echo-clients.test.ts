import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { embed, generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness/server.js';

// Tollgate's built-in model through the clients people build on: the Vercel AI SDK (Responses and chat providers)
// and LangChain JS, pointed at Tollgate exactly as at OpenAI (base URL and key).

const MODEL = 'tollgate-echo';

describe('tollgate-echo through the Vercel AI SDK and LangChain JS', () => {
  let t: TestServer;
  let key: { id: string; value: string };
  const events = async () => {
    await t.server.gateway.usage.flush();
    return t.server.runtime.database.db.selectFrom('usage_events').selectAll().where('api_key_id', '=', key.id).orderBy('created_at_ms').execute();
  };

  beforeAll(async () => {
    t = await startTestServer({ name: 'sqlite' });
    key = (await t.api('POST', `/v1/organization/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'clients' } })).body;
  });
  afterAll(async () => t?.close());

  describe('Vercel AI SDK', () => {
    const provider = () => createOpenAI({ baseURL: `${t.url}/v1`, apiKey: key.value });

    it('generateText on the Responses provider (the default) and on chat', async () => {
      const viaResponses = await generateText({ model: provider()(MODEL), prompt: 'hello from the ai sdk' });
      expect(viaResponses.text).toBe('hello from the ai sdk');
      expect(viaResponses.finishReason).toBe('stop');
      expect(viaResponses.usage.outputTokens).toBe(5);
      const viaChat = await generateText({ model: provider().chat(MODEL), prompt: 'chat please' });
      expect(viaChat.text).toBe('chat please');
      expect(viaChat.usage.outputTokens).toBe(2);
      expect((await events()).slice(-2).map((e) => [e.endpoint, e.outcome, e.billable])).toEqual([
        ['/responses', 'ok', 1],
        ['/chat/completions', 'ok', 1],
      ]);
    });

    it('streamText on the Responses provider and on chat, with usage', async () => {
      for (const model of [provider().responses(MODEL), provider().chat(MODEL)]) {
        const result = streamText({ model, prompt: 'streamed words here' });
        const parts: string[] = [];
        for await (const delta of result.textStream) parts.push(delta);
        expect(parts.join('')).toBe('streamed words here');
        expect(parts.length).toBeGreaterThan(1);
        expect((await result.usage).outputTokens).toBe(4);
        expect(await result.finishReason).toBe('stop');
      }
    });

    it('embed', async () => {
      const { embedding, usage } = await embed({ model: provider().embedding(MODEL), value: 'embed me' });
      expect(embedding).toHaveLength(1536);
      expect(Math.hypot(...embedding)).toBeCloseTo(1, 5);
      expect(usage.tokens).toBe(2);
    });
  });

  describe('LangChain JS', () => {
    const options = () => ({ model: MODEL, apiKey: key.value, configuration: { baseURL: `${t.url}/v1` }, maxRetries: 0 });

    it('ChatOpenAI invoke and stream, with usage', async () => {
      const chat = new ChatOpenAI(options());
      const message = await chat.invoke('hello langchain');
      expect(message.content).toBe('hello langchain');
      expect(message.usage_metadata?.output_tokens).toBe(3);
      let text = '';
      let usage: { output_tokens: number } | undefined;
      for await (const chunk of await chat.stream('streaming through langchain')) {
        text += chunk.content;
        usage = chunk.usage_metadata ?? usage;
      }
      expect(text).toBe('streaming through langchain');
      expect(usage?.output_tokens).toBe(5);
    });

    it('OpenAIEmbeddings embedQuery and embedDocuments', async () => {
      const embeddings = new OpenAIEmbeddings(options());
      const one = await embeddings.embedQuery('embed me');
      expect(one).toHaveLength(1536);
      expect(Math.hypot(...one)).toBeCloseTo(1, 5);
      const many = await embeddings.embedDocuments(['a', 'b']);
      expect(many).toHaveLength(2);
      expect(many[0]).not.toEqual(many[1]);
      const short = await new OpenAIEmbeddings({ ...options(), dimensions: 64 }).embedQuery('embed me');
      expect(short).toHaveLength(64);
    });
  });
});
