import { describe, expect, it } from 'vitest';
import { canonicalTarget, isV1Target } from './canonical-path.js';

const refused = (t: string) => expect(canonicalTarget(t).ok, t).toBe(false);
const accepted = (t: string) => expect(canonicalTarget(t), t).toMatchObject({ ok: true });

describe('canonical request targets', () => {
  it('accepts the targets OpenAI clients send, path and query apart', () => {
    for (const t of [
      '/v1/chat/completions',
      '/v1/files/file-AbC123/content',
      '/v1/models/ft%3Agpt-4o-mini%3Aorg%3Acustom%3Aabc',
      '/v1/files?purpose=batch&limit=20&after=file-abc',
      '/v1/organization/audit_logs?effective_at[gt]=1700000000',
      '/v1/vector_stores/vs_1/files/file-1',
    ]) {
      accepted(t);
    }
    expect(canonicalTarget('/v1/files?limit=2')).toEqual({ ok: true, path: '/v1/files', search: '?limit=2' });
  });

  it('refuses dot segments, plain and percent-encoded', () => {
    for (const t of ['/v1/chat/completions/../../files', '/v1/./chat/completions', '/v1/chat/completions/%2e%2e/%2e%2e/files', '/v1/chat/completions/%2E%2E/files', '/v1/files/.', '/v1/..', '/v1/.%2e/files']) refused(t);
  });

  it('refuses doubled, trailing and encoded slashes and backslashes', () => {
    for (const t of ['/v1//chat/completions', '//v1/chat/completions', '/v1/chat/completions/', '/v1/chat%2Fcompletions', '/v1/chat%2fcompletions', '/v1/chat%5Ccompletions', '/v1/chat\\completions', '/v1/chat/completions/..%2F..%2Ffiles']) refused(t);
  });

  it('refuses percent-encoded unreserved characters, lower-case or malformed encodings and encoded controls', () => {
    for (const t of ['/v1/chat/%63ompletions', '/v1/files/file%2Dabc', '/v1/files/file-%7Eabc', '/v1/models/a%3ab', '/v1/files/%zz', '/v1/files/abc%4', '/v1/files/a%00b', '/v1/files/a%0Ab']) refused(t);
  });

  it('refuses encodings a lax or twice-decoding router reads as another path: overlong or broken UTF-8, %25 before hex', () => {
    // Found by an outside review: forwarded under the embeddings scope, `..` to a router that decodes so.
    for (const t of ['/v1/embeddings/%C0%AE%C0%AE/chat/completions', '/v1/embeddings/%252e%252e/chat/completions', '/v1/files/%2525', '/v1/files/a%E0%80%AEb', '/v1/files/%ED%A0%80', '/v1/files/%C3', '/v1/files/%FF']) refused(t);
    // Real UTF-8, and a percent sign not before hex, pass.
    for (const t of ['/v1/files/caf%C3%A9', '/v1/models/%E6%A8%A1%E5%9E%8B', '/v1/files/100%25']) accepted(t);
  });

  it("refuses fragments, trailing dots, ';' path parameters, spaces and other characters outside pchar", () => {
    for (const t of ['/v1/chat/completions#x', '/v1/files?x=1#frag', '/v1/files.', '/v1/chat/completions.', '/v1/chat/completions;jsessionid=1', '/v1/fi les', '/v1/files/a"b', '/v1/files/a<b', '/v1/files/é', '/v1/files?x=a\\b']) refused(t);
  });

  it("refuses another letter case of the API's own path words, not of ids", () => {
    for (const t of ['/v1/Chat/completions', '/v1/chat/Completions', '/v1/FILES', '/v1/Organization/projects', '/v1/files/file-1/CONTENT', '/v1/Messages', '/v1/messages/Count_Tokens', '/v1/MESSAGES/count_tokens']) refused(t);
    accepted('/v1/files/FILE-ABC');
    accepted('/v1/batches/batch_AbC');
  });

  it('refuses targets that are not paths (absolute, authority and asterisk forms)', () => {
    for (const t of ['http://127.0.0.1/v1/files', 'https://api.openai.com/v1/chat/completions', '*', 'example.com:443']) refused(t);
  });

  it('allows an encoded slash only where the caller says (a model id Tollgate answers itself)', () => {
    refused('/v1/models/org%2Fmodel');
    expect(canonicalTarget('/v1/models/org%2Fmodel', { allowEncodedSlashIn: (s) => s[1] === 'models' }).ok).toBe(true);
    expect(canonicalTarget('/v1/models/org%5Cmodel', { allowEncodedSlashIn: () => true }).ok).toBe(false);
  });

  it('recognises every spelling of a /v1 target, and leaves the dashboard and health routes alone', () => {
    for (const t of ['/v1', '/v1/', '/v1?x', '/V1/files', '/%76%31/files', '/%761/files', '//v1/files', '/./v1/files', '/../v1/files', 'http://x/v1/files', '/\\v1/files']) expect(isV1Target(t), t).toBe(true);
    for (const t of ['/', '/healthz', '/auth/me', '/assets/index-abc.js', '/keys?project=proj_1', '/v10/files', '/v1abc']) expect(isV1Target(t), t).toBe(false);
  });
});
