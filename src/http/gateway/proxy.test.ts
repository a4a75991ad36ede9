import { describe, expect, it } from 'vitest';
import { withIncludeUsage } from './proxy.js';

describe('withIncludeUsage', () => {
  it('adds stream_options as the last member, keeping the rest byte for byte', () => {
    const raw = Buffer.from('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"héllo"}]}\n');
    const out = withIncludeUsage(raw);
    expect(out?.toString()).toBe('{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"héllo"}],"stream_options":{"include_usage":true}}');
    expect(JSON.parse(out?.toString() ?? '')).toMatchObject({ stream_options: { include_usage: true } });
  });

  it('declines what does not end as a non-empty object', () => {
    expect(withIncludeUsage(Buffer.from('{ }'))).toBeNull();
    expect(withIncludeUsage(Buffer.from('[1]'))).toBeNull();
  });
});
