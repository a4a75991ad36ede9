import { describe, expect, it } from 'vitest';
import type { Admission } from '../../core/request-guard.js';
import { admissionHeaders, anthropicLimitHeaders } from './limit-headers.js';

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
