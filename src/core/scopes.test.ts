import { describe, expect, it } from 'vitest';
import { isAllowed } from './permissions.js';
import { permissionsFromScopes } from './scopes.js';

describe('permissionsFromScopes', () => {
  it("reads OpenAI's scopes as restricted permissions, keeping the highest level per resource", () => {
    const r = permissionsFromScopes(['api.responses.read', 'api.responses.write', 'api.files.read', 'api.chat.completions.write']);
    expect(r).toEqual({ ok: true, permissions: { restricted: { responses: 'write', files: 'read', 'chat.completions': 'write' } } });
  });

  it('maps api.model.request to calling models and api.model.read to listing them', () => {
    const r = permissionsFromScopes(['api.model.request', 'api.model.read']);
    if (!r.ok) throw new Error('refused');
    expect(isAllowed(r.permissions, 'chat.completions', 'write')).toBe(true);
    expect(isAllowed(r.permissions, 'embeddings', 'write')).toBe(true);
    expect(isAllowed(r.permissions, 'models', 'read')).toBe(true);
    expect(isAllowed(r.permissions, 'files', 'read')).toBe(false);
  });

  it('names the first scope it does not know', () => {
    expect(permissionsFromScopes(['api.files.read', 'api.nukes.write'])).toEqual({ ok: false, index: 1 });
    expect(permissionsFromScopes(['files.read'])).toEqual({ ok: false, index: 0 });
    expect(permissionsFromScopes(['api.files.delete'])).toEqual({ ok: false, index: 0 });
  });
});
