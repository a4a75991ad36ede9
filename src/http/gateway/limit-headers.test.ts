import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../core/errors.js';
import type { LimitState } from '../../core/limit-state.js';
import type { Admission } from '../../core/request-guard.js';
import { admissionHeaders, anthropicLimitHeaders, withAdmissionHeaders } from './limit-headers.js';

describe("Tollgate's limits in Anthropic's header names", () => {
  it('names the requests and tokens limits, resets as RFC 3339 times rounded up to the second', () => {
    const at = Date.UTC(2026, 11, 4, 10, 0, 0);
    expect(anthropicLimitHeaders({ requests: { limit: 60, remaining: 59, resetAtMs: at + 1_000 }, tokens: { limit: 1000, remaining: 0, resetAtMs: at + 1_250 } })).toEqual({
      'anthropic-ratelimit-requests-limit': '60',
      'anthropic-ratelimit-requests-remaining': '59',
      'anthropic-ratelimit-requests-reset': '2026-12-04T10:00:01Z',
      'anthropic-ratelimit-tokens-limit': '1000',
      'anthropic-ratelimit-tokens-remaining': '0',
      'anthropic-ratelimit-tokens-reset': '2026-12-04T10:00:02Z',
    });
    expect(anthropicLimitHeaders({ requests: null, tokens: null })).toEqual({});
  });

  it("leaves OpenAI's answers the headers the decision made, the same object, and never asks for the state", () => {
    const headers = { 'x-ratelimit-limit-requests': '1' };
    const admission: Admission = {
      headers,
      settle() {},
      limitState() {
        throw new Error('asked');
      },
    };
    expect(admissionHeaders(admission, 'openai')).toBe(headers);
    expect(admissionHeaders(admission, undefined)).toBe(headers);
    expect(admissionHeaders({ headers, settle() {} }, 'anthropic')).toBe(headers);
  });
});

describe('an error answered after admission', () => {
  const state: LimitState = { requests: { limit: 100, remaining: 99, resetAtMs: 0 }, tokens: null };
  const admission = (asked: string[]): Admission => ({
    headers: { 'x-ratelimit-limit-requests': '100', 'retry-after': '1' },
    settle() {},
    limitState() {
      asked.push('state');
      return state;
    },
  });

  it("carries the admission's headers, its own kept, and the state for Anthropic's names to Anthropic's clients only", () => {
    const asked: string[] = [];
    const openai = withAdmissionHeaders(Object.assign(new TollgateError('upstream_error'), { headers: { 'retry-after': '30' } }), admission(asked), 'openai');
    expect(openai.headers).toEqual({ 'retry-after': '30', 'x-ratelimit-limit-requests': '100' });
    expect(openai.limitState).toBeUndefined();
    expect(asked).toEqual([]);
    const anthropic = withAdmissionHeaders(new TollgateError('upstream_timeout'), admission(asked), 'anthropic');
    expect(anthropic.limitState).toBe(state);
    // A refusal's own state stays.
    const own: LimitState = { requests: null, tokens: null };
    expect(withAdmissionHeaders(Object.assign(new TollgateError('upstream_error'), { limitState: own }), admission(asked), 'anthropic').limitState).toBe(own);
    // Anything else is left as it is (answered as an internal error).
    const other = new Error('x');
    expect(withAdmissionHeaders(other, admission(asked), 'openai')).toBe(other);
  });
});
