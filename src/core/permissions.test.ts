import { describe, expect, it } from 'vitest';
import { isAllowed, isModelAllowed, levelForMethod, resourceForPath } from './permissions.js';

describe('permissions', () => {
  it('maps paths to resource groups', () => {
    expect(resourceForPath('/v1/chat/completions')).toBe('chat.completions');
    expect(resourceForPath('/v1/completions')).toBe('completions');
    expect(resourceForPath('/v1/models/gpt-4o')).toBe('models');
    expect(resourceForPath('/v1/files/file-1/content?x=1')).toBe('files');
    expect(resourceForPath('/v1/something/else')).toBe('something');
    expect(resourceForPath('/v1/messages')).toBe('messages');
    expect(resourceForPath('/v1/messages/count_tokens')).toBe('messages');
    // OpenAI's thread messages are the threads resource, not Anthropic's messages.
    expect(resourceForPath('/v1/threads/thread_1/messages')).toBe('threads');
  });

  it('needs read for GET/HEAD and write otherwise', () => {
    expect(levelForMethod('GET')).toBe('read');
    expect(levelForMethod('HEAD')).toBe('read');
    expect(levelForMethod('POST')).toBe('write');
    expect(levelForMethod('DELETE')).toBe('write');
  });

  it('applies all, read_only and restricted', () => {
    expect(isAllowed('all', 'chat.completions', 'write')).toBe(true);
    expect(isAllowed('read_only', 'models', 'read')).toBe(true);
    expect(isAllowed('read_only', 'chat.completions', 'write')).toBe(false);
    const r = { restricted: { models: 'read', 'chat.completions': 'write', files: 'none' } } as const;
    expect(isAllowed(r, 'models', 'read')).toBe(true);
    expect(isAllowed(r, 'models', 'write')).toBe(false);
    expect(isAllowed(r, 'chat.completions', 'read')).toBe(true);
    expect(isAllowed(r, 'files', 'read')).toBe(false);
    expect(isAllowed(r, 'embeddings', 'write')).toBe(false);
    expect(isAllowed(r, 'unknown', 'read')).toBe(false);
  });

  it('applies a model allowlist', () => {
    expect(isModelAllowed(null, 'x')).toBe(true);
    expect(isModelAllowed([], 'x')).toBe(true);
    expect(isModelAllowed(['a'], 'a')).toBe(true);
    expect(isModelAllowed(['a'], 'b')).toBe(false);
  });
});
