import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listenOnLoopback } from './harness/provider-config.js';
import { gatewayConfigFile, startTestServer, type TestServer } from './harness/server.js';
import { SessionClient } from './harness/session-client.js';

// An outside review's sweep: drives sign-up, sign-in, keys, provider credentials, webhooks and the gateway (escaped
// provider keys in errors, streams and objects; keys in the query string), then looks for every secret, whole,
// JSON-escaped or in part, in every log line, every answer but the one that hands it out, and the data directory.
const ORG = '/v1/organization';
// A provider key with a '/' (base64-style keys have them), as some JSON encoders (PHP's, Java's) write it: '\/'.
const UP_KEY = 'sk-up-Zq9/Xw8+Vt7Rs6Qp5On4Ml3Kj2Ih1Gf0EdCbA987654';
const RT_KEY = 'sk-rt-Zq9/Xw8+Vt7Rs6Qp5On4Ml3Kj2Ih1Gf0EdCbA111111';
const RT_KEY2 = 'sk-rt-Zq9/Xw8+Vt7Rs6Qp5On4Ml3Kj2Ih1Gf0EdCbA222222';
const PASSWORD = 'correct horse battery staple 42';
const PASSWORD2 = 'a different long passphrase 77';
const secrets = new Map<string, string>();
/** The answer that hands each secret out (its creation, a sign-in's CSRF token): the one place it is expected. */
const issuedIn = new Map<string, string>([
  ['csrf token', 'login'],
  ['admin key 2', 'admin key create'],
  ['project key', 'project key create'],
  ['project key 2', 'project key create'],
  ['rotated key', 'rotate'],
  ['project key 3 (revoked)', 'project key create'],
  ['project key 4 (reported)', 'project key create'],
  ['webhook secret', 'webhook'],
]);

function filesText(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? filesText(p) : `\n==${p}==\n${readFileSync(p).toString('latin1')}`;
  }
  return out;
}

let t: TestServer;
const logs: string[] = [];
const answers: Array<{ flow: string; text: string }> = [];
const upstreamSaw: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
let upstreamUrl = '';
const esc = (s: string) => s.replaceAll('/', '\\/');

const upstream = createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  upstreamSaw.push({ url: req.url ?? '', headers: req.headers, body });
  let model = '';
  try {
    model = JSON.parse(body).model ?? '';
  } catch {}
  const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
  res.setHeader('content-type', 'application/json');
  const json = (status: number, raw: string) => {
    res.writeHead(status);
    res.end(raw);
  };
  if (model === 'esc-400') return json(400, `{"error":{"message":"Invalid value for api key ${esc(key)}","type":"invalid_request_error","param":null,"code":null}}`);
  if (model === 'esc-429') return json(429, `{"error":{"message":"Rate limit for key ${esc(key)}","type":"requests","param":null,"code":null}}`);
  if (model === 'esc-401') return json(401, `{"error":{"message":"Incorrect API key provided: ${esc(key)}","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`);
  if (model === 'cut-401') return json(401, `{"error":{"message":"${'x'.repeat(1960)} ${key}"}}`);
  if (model === 'uni-400') return json(400, `{"error":{"message":"bad key \\u0073${key.slice(1)}","type":"invalid_request_error","param":null,"code":null}}`);
  if (model === 'esc-stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"esc-stream","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n`);
    res.end(`data: {"error":{"message":"key ${esc(key)} revoked mid-stream","type":"server_error"}}\n\n`);
    return;
  }
  if (req.url?.startsWith('/v1/files')) return json(200, `{"object":"list","data":[{"id":"file-1","object":"file","filename":"${esc(key)}.jsonl","purpose":"batch","bytes":1,"created_at":1}],"has_more":false}`);
  return json(200, JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
});

async function call(flow: string, method: string, path: string, o: { body?: unknown; key?: string | null; headers?: Record<string, string>; raw?: string } = {}) {
  const r = await t.api(method, path, o);
  answers.push({ flow, text: `${r.status} ${JSON.stringify([...r.headers])} ${r.text}` });
  return r;
}

beforeAll(async () => {
  upstreamUrl = await listenOnLoopback(upstream);
  const file = gatewayConfigFile({ providers: [{ name: 'up', base_url: `${upstreamUrl}/v1`, api_key_env: 'UP_KEY' }], routes: { '*': 'up' } });
  t = await startTestServer(
    { name: 'sqlite' },
    {
      env: { TOLLGATE_CONFIG: file, UP_KEY, TOLLGATE_SECRET: 'sweep-secret-0123456789-abcdefghijkl' },
      logger: pino({ level: 'trace' }, { write: (line: string) => logs.push(line) }),
    },
  );
  secrets.set('provider key (file)', UP_KEY);
  secrets.set('runtime credential 1', RT_KEY);
  secrets.set('runtime credential 2', RT_KEY2);
  secrets.set('harness admin key', t.adminKey);
  secrets.set('TOLLGATE_SECRET', 'sweep-secret-0123456789-abcdefghijkl');
  secrets.set('password', PASSWORD);
  secrets.set('password2', PASSWORD2);
  if (t.setupToken) secrets.set('setup token', t.setupToken);
});
afterAll(async () => {
  await t?.close();
  upstream.close();
});

it('drives flows and finds no secret anywhere', async () => {
  // --- sign-up, sign-in, password change, invites
  const owner = new SessionClient(t.url);
  const su = await owner.call('POST', '/auth/signup', { email: 'o@example.com', password: PASSWORD, setup_token: t.setupToken, name: 'O' });
  answers.push({ flow: 'signup', text: JSON.stringify(su.body) });
  expect(su.status).toBe(200);
  const bad = new SessionClient(t.url);
  answers.push({ flow: 'login wrong', text: JSON.stringify((await bad.call('POST', '/auth/login', { email: 'o@example.com', password: `${PASSWORD}x` })).body) });
  answers.push({ flow: 'signup again w/ password in email', text: JSON.stringify((await bad.call('POST', '/auth/signup', { email: PASSWORD, password: PASSWORD, setup_token: t.setupToken })).body) });
  const good = new SessionClient(t.url);
  answers.push({ flow: 'login', text: JSON.stringify((await good.call('POST', '/auth/login', { email: 'o@example.com', password: PASSWORD })).body) });
  if (good.cookie) secrets.set('session cookie', good.cookie.split('=')[1]);
  if (good.csrf) secrets.set('csrf token', good.csrf);
  answers.push({ flow: 'password change', text: JSON.stringify((await good.call('POST', '/auth/password', { current_password: PASSWORD, new_password: PASSWORD2 })).body) });
  answers.push({ flow: 'password change weak', text: JSON.stringify((await good.call('POST', '/auth/password', { current_password: PASSWORD2, new_password: 'short' })).body) });
  const inv = await good.call('POST', `${ORG}/invites`, { email: 'm@example.com', role: 'reader' });
  const invToken = new URL(inv.body.accept_url.replace('/#/', '/')).searchParams.get('token') as string;
  secrets.set('invite token', invToken);
  answers.push({ flow: 'invites list', text: JSON.stringify((await good.call('GET', `${ORG}/invites`)).body) });
  const m = new SessionClient(t.url);
  answers.push({ flow: 'invite signup', text: JSON.stringify((await m.call('POST', '/auth/signup', { email: 'm@example.com', password: 'member long password', invite_token: invToken })).body) });
  answers.push({ flow: 'invite reuse', text: JSON.stringify((await m.call('POST', '/auth/signup', { email: 'm2@example.com', password: 'member long password', invite_token: invToken })).body) });

  // --- admin keys, project keys
  const ak = await call('admin key create', 'POST', `${ORG}/admin_api_keys`, { body: { name: 'ops' } });
  secrets.set('admin key 2', ak.body.value);
  const pk = await call('project key create', 'POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'p' } });
  const key = pk.body.value as string;
  secrets.set('project key', key);
  const pk2 = await call('project key create', 'POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'p2' } });
  secrets.set('project key 2', pk2.body.value);
  const rot = await call('rotate', 'POST', `${ORG}/projects/${t.defaultProjectId}/api_keys/${pk2.body.id}/rotate`, { body: { grace_period_seconds: 60 } });
  secrets.set('rotated key', rot.body.value);
  const pk3 = await call('project key create', 'POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'p3' } });
  secrets.set('project key 3 (revoked)', pk3.body.value);
  await call('revoke', 'DELETE', `${ORG}/projects/${t.defaultProjectId}/api_keys/${pk3.body.id}`);
  const pk4 = await call('project key create', 'POST', `${ORG}/projects/${t.defaultProjectId}/api_keys`, { body: { name: 'p4' } });
  secrets.set('project key 4 (reported)', pk4.body.value);
  await call('lookup', 'POST', `${ORG}/api_keys/lookup`, { body: { keys: [key, pk3.body.value] } });
  await call('lookup2', 'POST', `${ORG}/api_keys/lookup`, { body: { tokens: [key, pk3.body.value] } });
  await call('report_exposed', 'POST', `${ORG}/api_keys/report_exposed`, { body: [{ token: pk4.body.value, url: `file:///x/${key}/y`, source: key }] });
  await call('report_exposed2', 'POST', `${ORG}/api_keys/report_exposed`, { body: { reports: [{ token: pk4.body.value, url: `file:///x/${key}/y` }] } });
  await call('partner report unsigned', 'POST', '/v1/secret-scanning/reports', { key: null, body: [{ token: key, type: 't', url: 'u', source: 's' }] });

  // --- runtime provider credentials, webhooks
  const prov = await call('provider create', 'POST', `${ORG}/providers`, { body: { name: 'rt', kind: 'openai', base_url: `${upstreamUrl}/v1`, models: ['rt-model'] } });
  const cred = await call('cred add', 'POST', `${ORG}/providers/${prov.body.id}/credentials`, { body: { value: RT_KEY } });
  await call('cred add bad', 'POST', `${ORG}/providers/${prov.body.id}/credentials`, { body: { value: `${RT_KEY} withspace` } });
  await call('cred add bad2', 'POST', `${ORG}/providers/${prov.body.id}/credentials`, { body: { value: RT_KEY, weight: 'x' } });
  await call('cred rotate', 'POST', `${ORG}/providers/${prov.body.id}/credentials/${cred.body.id}/rotate`, { body: { value: RT_KEY2 } });
  await call('cred list', 'GET', `${ORG}/providers/${prov.body.id}/credentials`);
  const wh = await call('webhook', 'POST', `${ORG}/webhooks`, { body: { url: `${upstreamUrl}/hook`, event_types: ['api_key.exposed'] } });
  secrets.set('webhook secret', wh.body.secret);
  await call('webhook list', 'GET', `${ORG}/webhooks`);
  // Invalid JSON with a secret in it
  await call('bad json cred', 'POST', `${ORG}/providers/${prov.body.id}/credentials`, { raw: `{"value": "${RT_KEY}", }` });
  await call('bad json login', 'POST', '/auth/login', { key: null, raw: `{"email":"o@example.com","password":"${PASSWORD2}",}` });

  // --- gateway
  const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
  for (const model of ['gpt-4o', 'esc-400', 'esc-429', 'esc-401', 'cut-401', 'uni-400', 'rt-model'])
    await call(`chat ${model}`, 'POST', '/v1/chat/completions', { key, body: chat(model) });
  await call('chat esc-stream', 'POST', '/v1/chat/completions', { key, body: chat('esc-stream', { stream: true }) });
  await call('files list', 'GET', '/v1/files', { key });
  await call('x-api-key', 'POST', '/v1/chat/completions', { key: null, headers: { 'x-api-key': key }, body: chat('gpt-4o') });
  await call('api-key', 'POST', '/v1/chat/completions', { key: null, headers: { 'api-key': key }, body: chat('gpt-4o') });
  await call('conflicting', 'POST', '/v1/chat/completions', { headers: { 'x-api-key': key }, key: secrets.get('project key 2'), body: chat('gpt-4o') });
  await call('invalid key', 'POST', '/v1/chat/completions', { key: `${key.slice(0, -1)}Q`, body: chat('gpt-4o') });
  await call('malformed key', 'POST', '/v1/chat/completions', { key: UP_KEY, body: chat('gpt-4o') });
  await call('revoked key', 'POST', '/v1/chat/completions', { key: secrets.get('project key 3 (revoked)'), body: chat('gpt-4o') });
  await call('exposed key', 'POST', '/v1/chat/completions', { key: secrets.get('project key 4 (reported)'), body: chat('gpt-4o') });
  await call('query key', 'POST', `/v1/chat/completions?api-key=${key}`, { key, body: chat('gpt-4o') });
  await call('query key only', 'POST', `/v1/chat/completions?api-key=${key}`, { key: null, body: chat('gpt-4o') });
  await call('query key files', 'GET', `/v1/files?api-key=${key}`, { key });
  await call('admin key on gateway', 'POST', '/v1/chat/completions', { key: t.adminKey, body: chat('gpt-4o') });
  await call('project key on admin', 'GET', `${ORG}/projects`, { key });
  await call('admin query', 'GET', `${ORG}/projects?api-key=${key}`);
  await call('anthropic', 'POST', '/v1/messages', { key: null, headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, body: { model: 'esc-400', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] } });

  // --- metrics, readyz, audit, usage
  await t.server.gateway.usage.flush();
  await call('metrics', 'GET', '/metrics', { key: null });
  await call('readyz', 'GET', '/readyz', { key: null });
  await call('audit', 'GET', `${ORG}/audit_logs?limit=100`);
  await call('usage', 'GET', `${ORG}/usage/completions?start_time=0&group_by=api_key_id`);
  await new Promise((r) => setTimeout(r, 500));
  t.server.runtime.database.sqlite?.pragma('wal_checkpoint(PASSIVE)');

  const sinks: Array<[string, string]> = [
    ...logs.map((l) => ['log', l] as [string, string]),
    ...answers.map((a) => [`answer(${a.flow})`, a.text] as [string, string]),
    ['datadir', filesText(t.dataDir)],
  ];
  const found: string[] = [];
  for (const [name, secret] of secrets) {
    const variants = [secret, esc(secret), secret.slice(0, 24), secret.slice(-24)];
    for (const [sink, text] of sinks) {
      if (sink === `answer(${issuedIn.get(name)})`) continue;
      for (const v of variants) {
        const i = text.indexOf(v);
        if (i >= 0) {
          found.push(`${name} [${v === secret ? 'full' : v === esc(secret) ? 'escaped' : 'part'}] in ${sink}: …${text.slice(Math.max(0, i - 100), i + v.length + 40).replace(/\n/g, ' ')}…`);
          break;
        }
      }
    }
  }
  expect(upstreamSaw.filter((u) => JSON.stringify(u).includes(key)).map((u) => u.url)).toEqual([]);
  expect(found).toEqual([]);
}, 120_000);
