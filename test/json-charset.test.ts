import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';

// Found by an outside review: a JSON body sent with `Content-Type: application/json; charset=utf-7` was read by Tollgate
// as UTF-8, and by an Express upstream (body-parser's json(), which decodes any `utf-*` charset the type names, UTF-7
// included) as UTF-7, where `+ACI-` is `"`: a second `model` hidden in a string to Tollgate was the one the upstream
// ran. The allowlist, routing, price and per-model limits were decided on one model, another one ran.

/** RFC 2152's UTF-7, decoded as iconv-lite (body-parser's decoder) decodes it: `+` opens modified base64, `-` closes it. */
function decodeUtf7(text: string): string {
  return text.replace(/\+([A-Za-z0-9+/]*)-?/g, (_, b64: string) => {
    if (b64 === '') return '+';
    const bytes = Buffer.from(b64, 'base64');
    let out = '';
    for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
    return out;
  });
}

const ORG = '/v1/organization';
const Q = '+ACI-';
// Read as UTF-8: one message whose text holds `+ACI-`. Read as UTF-7: the text closes early, and a second `model`
// follows, which JSON.parse takes (the last of two wins).
const SMUGGLED = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x${Q}}],${Q}model${Q}:${Q}gpt-4o${Q},${Q}messages${Q}:[{${Q}role${Q}:${Q}user${Q},${Q}content${Q}:${Q}y"}]}`;

describe('a body in a charset other than UTF-8', () => {
  let t: TestServer;
  let key: string;
  const ran: string[] = [];
  // An Express-style upstream: the body decoded in the charset its Content-Type names (UTF-7 here), then parsed.
  const up = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1]?.toLowerCase();
      let model = '';
      try {
        model = (JSON.parse(charset === 'utf-7' ? decodeUtf7(raw) : raw) as { model?: string }).model ?? '';
      } catch {
        model = '(unparsed)';
      }
      ran.push(model);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        }),
      );
    });
  });

  beforeAll(async () => {
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const file = gatewayConfigFile({ providers: [{ name: 'express', base_url: `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`, api_key_env: 'UP_KEY' }] });
    t = await startTestServer({ name: 'sqlite' }, { env: { TOLLGATE_CONFIG: file, UP_KEY: 'sk-up-000000000' } });
    key = (await t.api('POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'mini only', allowed_models: ['gpt-4o-mini'] } })).body.value;
  });
  afterAll(async () => {
    await t?.close();
    up.close();
  });

  const send = (contentType: string, body: string, path = '/v1/chat/completions') =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });

  it('the fake upstream of this test reads UTF-7 as body-parser does', () => {
    expect(decodeUtf7(SMUGGLED)).toContain('"model":"gpt-4o"');
    expect(JSON.parse(decodeUtf7(SMUGGLED)).model).toBe('gpt-4o');
    expect(JSON.parse(SMUGGLED).model).toBe('gpt-4o-mini');
  });

  it('is refused 415 naming the charset, in every spelling of the parameter, and nothing is forwarded', async () => {
    const before = ran.length;
    for (const type of [
      'application/json; charset=utf-7',
      'application/json; charset=UTF-7',
      'application/json;charset="utf-7"',
      'application/json; CHARSET=utf-7',
      'application/json; charset = utf-7',
      'application/json;\tcharset=utf-7',
      'application/json; charset=utf-8; charset=utf-7',
      'application/json; charset=utf-7; charset=utf-8',
      'application/json; charset="utf\\-7"',
      "application/json; charset*=utf-8''utf-7",
      'application/json; charset=utf-16le',
      'application/json; charset=iso-8859-1',
      'application/json; charset=',
      'application/json; charset=utf-8,utf-7',
      'application/vnd.api+json; charset=utf-7',
      // Read as JSON whatever the declared type.
      'text/plain; charset=utf-7',
      'application/x-www-form-urlencoded; charset=utf-7',
      'multipart/form-data; boundary=x; charset=utf-7',
    ]) {
      const res = await send(type, SMUGGLED);
      const body = await res.json();
      expect(res.status, type).toBe(415);
      expect(body.error, type).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_media_type' });
      expect(body.error.message, type).toMatch(/charset/);
    }
    expect(ran.length).toBe(before);
  });

  it('on Anthropic\'s Messages API too, in its shape', async () => {
    const res = await fetch(`${t.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json; charset=utf-7' },
      body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await res.json();
    expect(res.status).toBe(415);
    expect(body.type).toBe('error');
  });

  it('UTF-8 and US-ASCII, declared in any case or quoted, are read as before', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"', 'application/json; charset=us-ascii']) {
      const res = await send(type, body);
      expect(res.status, type).toBe(200);
      await res.text();
      expect(ran.at(-1)).toBe('gpt-4o-mini');
    }
  });
});
