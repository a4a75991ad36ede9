import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecretKind } from '../core/key-format.js';
import { hashSecret } from '../core/key-format.js';

// An in-memory stand-in for the two admin endpoints the scanner calls, implementing their contract:
// POST /v1/organization/api_keys/lookup and POST /v1/organization/api_keys/report_exposed.
// Tests run the scanner against it; it listens on 127.0.0.1 only.

export interface FakeKey {
  secret: string;
  id: string;
  kind: SecretKind;
  project_id: string | null;
  name: string;
  status: string;
}

export interface FakeKeyServer {
  url: string;
  /** Every request received, with its parsed JSON body. */
  requests: Array<{ path: string; authorization: string | undefined; body: unknown }>;
  keys: FakeKey[];
  close(): Promise<void>;
}

/** Starts the fake server on a free port; it accepts only `Bearer <adminKey>`. */
export async function startFakeKeyServer(adminKey: string, keys: FakeKey[]): Promise<FakeKeyServer> {
  const requests: FakeKeyServer['requests'] = [];
  const byHash = (hash: string) => keys.find((k) => hashSecret(k.secret) === hash);
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bearer ${adminKey}`) {
      return send(401, { error: { message: 'Incorrect API key provided.', code: 'invalid_api_key' } });
    }
    if (req.method === 'POST' && req.url === '/v1/organization/api_keys/lookup') {
      const data = (body.secrets as string[]).map((secret) => {
        const hash = hashSecret(secret);
        const k = byHash(hash);
        return k ? { hash, found: true, id: k.id, kind: k.kind, project_id: k.project_id, name: k.name, status: k.status } : { hash, found: false };
      });
      return send(200, { object: 'list', data });
    }
    if (req.method === 'POST' && req.url === '/v1/organization/api_keys/report_exposed') {
      // Like the real endpoint, a report past a cap is refused with the whole body.
      const tooLong = (body.reports as Array<{ url?: string }>).findIndex((r) => (r.url ?? '').length > 2048);
      if (tooLong !== -1) {
        return send(400, { error: { message: `Invalid value for 'reports.${tooLong}.url': must be at most 2048 characters`, type: 'invalid_request_error', param: `reports.${tooLong}.url`, code: null } });
      }
      const data = (body.reports as Array<{ token: string }>).map((r) => {
        const token_hash = hashSecret(r.token);
        const k = byHash(token_hash);
        // Like the real endpoint: a live key of ours is disabled (status exposed); one of ours that is dead already is a
        // true positive left as it is, with its status; anything else is a false positive.
        if (!k) return { token_hash, label: 'false_positive' };
        if (k.status !== 'active') return { token_hash, label: 'true_positive', status: k.status };
        k.status = 'exposed';
        return { token_hash, label: 'true_positive', disabled_key_id: k.id, status: 'exposed' };
      });
      return send(200, { object: 'list', data });
    }
    send(404, { error: { message: `Invalid URL (${req.method} ${(req.url ?? '').split('?')[0]})`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    keys,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
