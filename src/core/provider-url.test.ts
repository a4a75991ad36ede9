import { describe, expect, it } from 'vitest';
import { baseUrlProblem, requestUrlProblem } from './provider-url.js';

describe('baseUrlProblem', () => {
  it('takes http(s) URLs with a host, a port and a path', () => {
    for (const url of ['https://api.openai.com/v1', 'http://127.0.0.1:11434/v1/', 'https://my-resource.openai.azure.com']) expect(baseUrlProblem(url), url).toBe(null);
  });

  it('refuses what would be dropped when the URL is used: a user or password, a query, a fragment; and other schemes', () => {
    expect(baseUrlProblem('https://u:p@x.example/v1')).toMatch(/user or password/);
    expect(baseUrlProblem('https://u@x.example/v1')).toMatch(/user or password/);
    expect(baseUrlProblem('https://x.example/v1?key=k')).toMatch(/query/);
    expect(baseUrlProblem('https://x.example/v1?')).toMatch(/query/);
    expect(baseUrlProblem('https://x.example/v1#f')).toMatch(/fragment/);
    expect(baseUrlProblem('file:///etc/passwd')).toMatch(/http/);
    expect(baseUrlProblem('ftp://x.example')).toMatch(/http/);
    expect(baseUrlProblem('not a url')).toMatch(/URL/);
  });
});


describe('requestUrlProblem', () => {
  it('takes http(s) URLs with a query: a request sends it', () => {
    for (const url of ['https://hooks.example.com/h', 'https://hooks.example.com/h?x=1', 'http://127.0.0.1:8080/']) expect(requestUrlProblem(url), url).toBe(null);
  });

  it('refuses what a request would not send: a user or password, a fragment; and other schemes', () => {
    expect(requestUrlProblem('https://u:p@example.com/h?x=1#f')).toMatch(/user or password \(they would not be sent/);
    expect(requestUrlProblem('https://:p@example.com/h')).toMatch(/user or password/);
    expect(requestUrlProblem('https://example.com/h#f')).toMatch(/fragment \(it would not be sent/);
    expect(requestUrlProblem('https://example.com/h#')).toMatch(/fragment/);
    expect(requestUrlProblem('ftp://example.com/h')).toMatch(/http/);
  });
});
