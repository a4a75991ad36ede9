import { describe, expect, it } from 'vitest';
import { baseUrlProblem } from './provider-url.js';

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

