import { describe, expect, it } from 'vitest';
import { answeredServiceTier, anthropicAnswerServiceTier, anthropicServiceTier, openAIAnswerServiceTier, requestedServiceTier, serviceTierInJson } from './service-tier.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v, null, 1));

describe('service tiers', () => {
  it("reads a chat completion's tier after its usage, and a Response's before it", () => {
    const chat = { id: 'c', object: 'chat.completion', choices: [], usage: { prompt_tokens: 1 }, service_tier: 'default', system_fingerprint: 'fp' };
    expect(serviceTierInJson(Buffer.from(JSON.stringify(chat)))).toBe('default');
    expect(serviceTierInJson(json(chat))).toBe('default');
    const response = { id: 'r', object: 'response', service_tier: 'flex', tools: [], usage: { input_tokens: 1 }, metadata: {} };
    expect(serviceTierInJson(json(response))).toBe('flex');
  });

  it("never takes a deeper service_tier (a tool's schema, metadata, generated text) for the answer's", () => {
    const tool = { type: 'function', name: 'f', parameters: { type: 'object', properties: { service_tier: { type: 'string' } } } };
    const response = { id: 'r', service_tier: 'priority', tools: [tool], usage: {}, metadata: { service_tier: 'scale' } };
    expect(serviceTierInJson(json(response))).toBe('priority');
    expect(serviceTierInJson(json({ ...response, service_tier: undefined }))).toBeNull();
    const text = { choices: [{ message: { content: 'say "service_tier": "flex"' } }], service_tier: 'default' };
    expect(serviceTierInJson(json(text))).toBe('default');
    expect(serviceTierInJson(json({ choices: [{ message: { content: '{"service_tier":"flex"}' } }] }))).toBeNull();
    // A string value "service_tier" is no key.
    expect(serviceTierInJson(json({ enum: ['service_tier'], x: 1 }))).toBeNull();
  });

  it('keeps only short plain words: null, odd or long values are not recorded', () => {
    expect(serviceTierInJson(json({ service_tier: null }))).toBeNull();
    expect(serviceTierInJson(json({ service_tier: 'Flex Tier!' }))).toBeNull();
    expect(serviceTierInJson(json({ service_tier: 'x'.repeat(33) }))).toBeNull();
    expect(serviceTierInJson(json({ service_tier: 3 }))).toBeNull();
    expect(serviceTierInJson(Buffer.from('not json'))).toBeNull();
    expect(serviceTierInJson(Buffer.from('[{"service_tier":"flex"}]'))).toBeNull();
    expect(answeredServiceTier('standard')).toBe('standard');
    expect(answeredServiceTier('')).toBeNull();
  });

  it("takes a request's tier only when OpenAI's specification allows it", () => {
    expect(requestedServiceTier({ service_tier: 'flex' })).toBe('flex');
    expect(requestedServiceTier({ service_tier: 'auto' })).toBe('auto');
    expect(requestedServiceTier({ service_tier: 'standard_only' })).toBeNull();
    expect(requestedServiceTier({ service_tier: 'flexible' })).toBeNull();
    expect(requestedServiceTier({})).toBeNull();
    expect(requestedServiceTier(null)).toBeNull();
  });

  it("records Anthropic's tiers by OpenAI's names (standard is default), and what an Anthropic request asks for likewise", () => {
    expect(['standard', 'priority', 'batch', 'Odd!', null, 1, 'constructor'].map(anthropicServiceTier)).toEqual(['default', 'priority', 'batch', null, null, null, 'constructor']);
    expect(requestedServiceTier({ service_tier: 'standard_only' }, 'anthropic')).toBe('default');
    expect(requestedServiceTier({ service_tier: 'auto' }, 'anthropic')).toBe('auto');
    // OpenAI's words are not Anthropic's request values.
    expect(requestedServiceTier({ service_tier: 'flex' }, 'anthropic')).toBeNull();
    expect(requestedServiceTier({ service_tier: 'toString' }, 'anthropic')).toBeNull();
  });

  it('names a recorded tier in an answer only with a word that API has for it', () => {
    expect(['default', 'priority', 'flex', 'batch', null].map(openAIAnswerServiceTier)).toEqual(['default', 'priority', 'flex', null, null]);
    expect(['default', 'priority', 'flex', 'auto', null].map(anthropicAnswerServiceTier)).toEqual(['standard', 'priority', null, null, null]);
  });
});
