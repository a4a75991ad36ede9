import { describe, expect, it } from 'vitest';
import { isAllowed, isModelAllowed, levelForRequest, resourceForPath } from './permissions.js';

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

  it('needs read for GET/HEAD of a route the API reads, and write otherwise', () => {
    expect(levelForRequest('GET', '/files/file-1')).toBe('read');
    expect(levelForRequest('HEAD', '/files/file-1')).toBe('read');
    expect(levelForRequest('POST', '/files/file-1')).toBe('write');
    expect(levelForRequest('DELETE', '/files/file-1')).toBe('write');
    expect(levelForRequest('OPTIONS', '/files/file-1')).toBe('write');
    // Served by POST alone: a GET or HEAD is the POST to an upstream routing without regard to the method.
    for (const path of ['/responses/resp_1/cancel', '/vector_stores/vs_1/search', '/embeddings', '/responses', '/messages', '/messages/batches/msgbatch_1/cancel']) {
      expect(levelForRequest('HEAD', path), path).toBe('write');
      expect(levelForRequest('GET', path), path).toBe('write');
    }
    // Paths no API lists are read by GET: an upstream's own, Anthropic's message batches.
    expect(levelForRequest('GET', '/fim/completions')).toBe('read');
    expect(levelForRequest('HEAD', '/messages/batches/msgbatch_1')).toBe('read');
    expect(levelForRequest('GET', '/messages/batches/msgbatch_1/results')).toBe('read');
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
