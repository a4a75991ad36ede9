import { describe, expect, it } from 'vitest';
import { missingObjectScope } from './object-scopes.js';

describe('the scopes of the objects a request names', () => {
  const perms = { restricted: { responses: 'write', files: 'read' } } as const;
  it('needs read on each object’s resource, and the request’s level on a conversation or container it writes', () => {
    expect(missingObjectScope(perms, 'write', [{ type: 'file', id: 'file-1', param: 'file_id' }])).toBeNull();
    expect(missingObjectScope(perms, 'write', [{ type: 'vector_store', id: 'vs_1', param: 'vector_store_ids' }])).toEqual({ resource: 'vector_stores', level: 'read' });
    expect(missingObjectScope(perms, 'write', [{ type: 'conversation', id: 'conv_1', param: 'conversation' }])).toEqual({ resource: 'conversations', level: 'write' });
    expect(missingObjectScope({ restricted: { conversations: 'read' } }, 'read', [{ type: 'conversation', id: 'conv_1', param: null }])).toBeNull();
    expect(missingObjectScope(perms, 'write', [{ type: 'container', id: 'cntr_1', param: 'container' }])).toEqual({ resource: 'containers', level: 'write' });
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
