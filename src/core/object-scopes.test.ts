import { describe, expect, it } from 'vitest';
import { missingObjectScope, namedObjectsLevel } from './object-scopes.js';

describe('the scopes of the objects a request names', () => {
  const perms = { restricted: { responses: 'write', files: 'read' } } as const;
  it('needs read on each object’s resource, and the request’s level on a conversation or container it writes', () => {
    expect(missingObjectScope(perms, 'write', [{ type: 'file', id: 'file-1', param: 'file_id' }])).toBeNull();
    expect(missingObjectScope(perms, 'write', [{ type: 'vector_store', id: 'vs_1', param: 'vector_store_ids' }])).toEqual({ resource: 'vector_stores', level: 'read' });
    expect(missingObjectScope(perms, 'write', [{ type: 'conversation', id: 'conv_1', param: 'conversation' }])).toEqual({ resource: 'conversations', level: 'write' });
    expect(missingObjectScope({ restricted: { conversations: 'read' } }, 'read', [{ type: 'conversation', id: 'conv_1', param: null }])).toBeNull();
    expect(missingObjectScope(perms, 'write', [{ type: 'container', id: 'cntr_1', param: 'container' }])).toEqual({ resource: 'containers', level: 'write' });
  });
  it("needs no scope beyond the path's for its parts, nor for a voice spoken in", () => {
    expect(missingObjectScope({ restricted: { vector_stores: 'write' } }, 'write', [{ type: 'file', id: 'file-1', param: null, part: true }])).toBeNull();
    expect(missingObjectScope({ restricted: { messages: 'write' } }, 'write', [{ type: 'container', id: 'container_1', param: 'container', part: true }])).toBeNull();
    expect(missingObjectScope({ restricted: { 'chat.completions': 'write' } }, 'write', [{ type: 'voice', id: 'voice_1', param: 'voice' }])).toBeNull();
  });
  it('writes nothing it names on a route that counts tokens', () => {
    expect([namedObjectsLevel('POST', '/responses/input_tokens'), namedObjectsLevel('POST', '/messages/count_tokens')]).toEqual(['read', 'read']);
    expect([namedObjectsLevel('POST', '/responses'), namedObjectsLevel('GET', '/responses/r'), namedObjectsLevel('PUT', '/responses/input_tokens/x')]).toEqual(['write', 'read', 'write']);
  });
  it('reads an item with either scope that lists items, and leaves a fine-tuned model to the model checks', () => {
    expect(missingObjectScope(perms, 'write', [{ type: 'item', id: 'msg_1', param: 'id' }])).toBeNull();
    expect(missingObjectScope({ restricted: { conversations: 'write' } }, 'write', [{ type: 'item', id: 'msg_1', param: 'id' }])).toBeNull();
    expect(missingObjectScope({ restricted: { threads: 'write' } }, 'write', [{ type: 'item', id: 'msg_1', param: 'id' }])).toEqual({ resource: 'responses', level: 'read' });
    expect(missingObjectScope(perms, 'write', [{ type: 'model', id: 'ft:x', param: 'model' }])).toBeNull();
    expect(missingObjectScope('all', 'write', [{ type: 'file', id: 'file-1', param: null }])).toBeNull();
    expect(missingObjectScope('read_only', 'read', [{ type: 'file', id: 'file-1', param: null }])).toBeNull();
  });
});
