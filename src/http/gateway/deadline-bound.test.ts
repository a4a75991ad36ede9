import { describe, expect, it } from 'vitest';
import { type PlanInput, planMetering } from '../../core/metering-plan.js';
import { DEFAULT_PRICES } from '../../core/pricing.js';
import { billsBoundAtDeadline, deadlineBound, largerCounts } from './deadline-bound.js';

const planOf = (endpoint: string, model: string, body: Record<string, unknown>) =>
  planMetering({ method: 'POST', endpoint, body, form: null, model, bodyBytes: 0, prices: DEFAULT_PRICES, defaultPrice: null } satisfies PlanInput);
const messages = [{ role: 'user', content: 'what is the answer' }];

describe('deadlineBound (a model call the gateway cut at its total_ms)', () => {
  it('is its counted input and its most output: max tokens times the answers asked, else the model largest answer', async () => {
    const o3 = { model: 'o3', messages };
    const bound = await deadlineBound(o3, '/chat/completions', 'o3', planOf('/chat/completions', 'o3', o3));
    expect(bound.output).toBe(100_000);
    expect(bound.input).toBeGreaterThan(0);
    expect(bound.input).toBeLessThan(30);
    const asked = { model: 'gpt-4o', messages, max_completion_tokens: 500, n: 3 };
    expect((await deadlineBound(asked, '/chat/completions', 'gpt-4o', planOf('/chat/completions', 'gpt-4o', asked))).output).toBe(1500);
    const embeddings = { model: 'text-embedding-3-small', input: 'hello' };
    expect((await deadlineBound(embeddings, '/embeddings', 'text-embedding-3-small', planOf('/embeddings', 'text-embedding-3-small', embeddings))).output).toBe(0);
  });

  it('bills a spoken answer as audio output, at the audio rate', async () => {
    const spoken = { model: 'gpt-4o-audio-preview', modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'pcm16' }, max_tokens: 300, messages };
    expect(await deadlineBound(spoken, '/chat/completions', 'gpt-4o-audio-preview', planOf('/chat/completions', 'gpt-4o-audio-preview', spoken))).toMatchObject({ output: 300, audioOutput: 300 });
    const text = { model: 'gpt-4o-audio-preview', max_tokens: 300, messages };
    expect((await deadlineBound(text, '/chat/completions', 'gpt-4o-audio-preview', planOf('/chat/completions', 'gpt-4o-audio-preview', text))).audioOutput).toBeUndefined();
  });

  it('applies to a whole answer, and to a stream only when a hang-up would read it on', () => {
    const plan = planOf('/chat/completions', 'gpt-4o', { model: 'gpt-4o', messages });
    expect(billsBoundAtDeadline(false, null, { model: 'gpt-4o', messages }, 'gpt-4o', plan, undefined)).toBe(true);
    expect(billsBoundAtDeadline(true, { finished: false }, { model: 'gpt-4o', messages }, 'gpt-4o', plan, undefined)).toBe(false);
    expect(billsBoundAtDeadline(true, { finished: true }, { model: 'gpt-4o', messages }, 'gpt-4o', plan, undefined)).toBe(true);
    expect(billsBoundAtDeadline(true, { finished: false }, { model: 'o3', messages }, 'o3', planOf('/chat/completions', 'o3', { model: 'o3', messages }), undefined)).toBe(true);
    expect(billsBoundAtDeadline(false, null, null, null, planOf('/images/generations', 'gpt-image-1', { model: 'gpt-image-1', prompt: 'x' }), undefined)).toBe(false);
  });

  it('largerCounts keeps each larger count', () => {
    expect(largerCounts({ input: 10, cached: 4, output: 50, audioOutput: 20 }, { input: 12, cached: 0, output: 40 })).toEqual({ input: 12, cached: 4, output: 50, audioOutput: 20 });
  });
});
