import { describe, expect, it } from 'vitest';
import { serverUnreachable } from './server-url.js';

// fetch() fails with `fetch failed` alone and hides the reason in `cause`: each is told in words, with its code.

const failed = (cause: unknown) => Object.assign(new TypeError('fetch failed'), { cause });
const coded = (code: string, message = `${code} message`) => Object.assign(new Error(message), { code });

describe('serverUnreachable', () => {
  it('names the server and the cause of each kind of failure', () => {
    const base = 'https://tollgate.example.com';
    for (const [cause, expected] of [
      [coded('ECONNREFUSED'), 'connection refused (ECONNREFUSED)'],
      [Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { code: undefined }), 'connection refused (ECONNREFUSED)'],
      [coded('ENOTFOUND'), 'host not found (ENOTFOUND)'],
      [coded('UND_ERR_CONNECT_TIMEOUT'), 'timed out connecting (UND_ERR_CONNECT_TIMEOUT)'],
      [coded('UND_ERR_HEADERS_TIMEOUT'), 'timed out waiting for the answer (UND_ERR_HEADERS_TIMEOUT)'],
      [coded('ECONNRESET'), 'the connection was closed before an answer (ECONNRESET)'],
      [coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'TLS failed (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed certificate'],
      [coded('CERT_HAS_EXPIRED', 'certificate has expired'), 'TLS failed (CERT_HAS_EXPIRED): certificate has expired'],
      [coded('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), 'TLS failed (ERR_TLS_CERT_ALTNAME_INVALID): Hostname/IP'],
      [coded('ERR_SSL_WRONG_VERSION_NUMBER', '80EC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:\n'), 'TLS failed (ERR_SSL_WRONG_VERSION_NUMBER): the server does not speak TLS'],
      [new Error('bad port'), 'bad port'],
    ] as Array<[unknown, string]>) {
      const message = serverUnreachable(base, failed(cause));
      expect(message).toMatch(/^could not reach the server at https:\/\/tollgate\.example\.com: /);
      expect(message).toContain(expected);
      expect(message).not.toContain('fetch failed');
    }
  });
});
