import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { API_FAMILIES, answerFormat, isServedMethod, PROVIDER_ADMIN_PREFIXES, SERVED_METHODS } from '../../core/api-routes.js';
import { canonicalTarget, isV1Target } from '../../core/canonical-path.js';
import { invalidUrl, TollgateError } from '../../core/errors.js';
import type { GatewayContext } from './gateway-context.js';
import { listModels } from './models.js';
import { proxy } from './proxy.js';
import { clientIpResolver, gatewayRequest, readBody, withBody } from './request.js';
import { authorizeGatewayRequest, checkRequestScope } from './authorize.js';
import type { KeyRecord } from '../../core/verify.js';
import { sendError } from './respond.js';
import { isPending } from '../../core/maybe-promise.js';
import { credentialInQuery } from '../../core/query-credentials.js';
import { continueIfAwaited } from '../shared/expect-continue.js';

export interface GatewayListenerOptions {
  bodyLimit: number;
  /** TOLLGATE_BODY_IDLE_TIMEOUT_MS: a body that sends nothing for this long is cut (408). */
  bodyIdleTimeoutMs: number;
  /** TOLLGATE_TRUST_PROXY: the proxies whose X-Forwarded-For is believed, or null. */
  trustProxy: string | null;
  logger: Logger;
  /** True once the server is shutting down: new requests get 503 and a closed connection. */
  isClosing(): boolean;
  /** Request latency by route, method and status (metrics). */
  observe?(route: string, method: string, status: number, seconds: number): void;
  /** A new request id (core/ids.ts requestIdSource). */
  newRequestId(): string;
}

/** Tollgate's own `/v1` routes, served by the control plane and never forwarded. */
function isControlPlanePath(path: string): boolean {
  return path === '/v1/organization' || path.startsWith('/v1/organization/') || path === '/v1/secret-scanning' || path.startsWith('/v1/secret-scanning/');
}

/** `/v1` and each provider-admin route's static start (`/v1/fine_tuning/checkpoints`). */
const PROVIDER_ADMIN = PROVIDER_ADMIN_PREFIXES.map((p) => `/v1${p}`);

/**
 * Paths that are never forwarded nor served: the bare `/v1`, OpenAI's Admin API outside `/organization`
 * (`/v1/projects/{id}/roles`, …), and the other routes its spec says need an admin key (a fine-tuned checkpoint's
 * permissions, which share the model with other organizations: core/api-routes.ts PROVIDER_ADMIN_ROUTES), which would
 * act on the provider's account with the provider's key.
 */
function isNeverForwarded(path: string): boolean {
  if (path === '/v1' || path === '/v1/projects' || path.startsWith('/v1/projects/')) return true;
  return PROVIDER_ADMIN.some((p) => path === p || (path.startsWith(p) && path[p.length] === '/'));
}

/**
 * Whether a canonical `/v1/…` path is forwarded: its first segment is one of the APIs' resource families, or it is one
 * of the operator's pass-through paths or below one. Any other path is the provider's account, not an API a key is for
 * (OpenAI's `/v1/me` answers the account owner's email and phone, Anthropic's `/v1/organizations/…` is its Admin API):
 * refused 404 for every key (found by an outside review: a read-only key read `/v1/me`).
 */
function forwardedPaths(passThrough: readonly string[]): (path: string) => boolean {
  return (path) => {
    const slash = path.indexOf('/', 4);
    if (API_FAMILIES.has(slash < 0 ? path.slice(4) : path.slice(4, slash))) return true;
    return passThrough.some((p) => path === p || (path.startsWith(p) && path[p.length] === '/'));
  };
}

/** `GET /v1/models/{model}` is answered by Tollgate itself, so its model may hold an encoded `/` (`org%2Fmodel`). */
const modelsParam = (segments: string[]) => segments.length === 3 && segments[1] === 'models';
/** A project rate limit's id names its model (`rl-meta%2Fllama-3.1`); the admin API serves it, the router decodes it. */
const rateLimitParam = (segments: string[]) => segments.length === 6 && segments[1] === 'organization' && segments[2] === 'projects' && segments[4] === 'rate_limits';
const getParamWithSlash = (segments: string[]) => modelsParam(segments) || rateLimitParam(segments);

/**
 * The data plane's HTTP front: every `/v1/*` request except Tollgate's own routes, read straight off node:http.
 * Returns false for any other request, which then goes to Fastify (admin API, dashboard, health, metrics).
 * The hot path needs none of Fastify's per-request machinery (request and reply objects, a child logger, hooks,
 * content-type parsing); on the gateway bench its share was within the run-to-run noise, so this is about control
 * (one read of the body, errors in OpenAI's shape, no framework between the socket and the upstream call).
 */
export function gatewayListener(g: GatewayContext, o: GatewayListenerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const ipOf = clientIpResolver(o.trustProxy);
  const isForwarded = forwardedPaths(g.config.passThroughPaths);
  // Targets already found forwardable (canonical, under /v1/, neither Tollgate's own nor refused), one map per
  // reading of encoded slashes: the same few targets come again and again, and their checks cost ~0.5–1 µs each time.
  // Bounded: targets with a query string are not kept, and a full map starts over.
  const known = { get: new Map<string, { path: string; search: string }>(), other: new Map<string, { path: string; search: string }>() };
  return (req, res) => {
    const url = req.url ?? '';
    const memo = req.method === 'GET' ? known.get : known.other;
    let target = memo.get(url);
    let requestId: string;
    if (target === undefined) {
      // Every spelling of a /v1 target is decided here, once: a target that is not canonical is refused, never
      // rewritten, so every check below and the upstream see the same path (docs/gateway-paths.md).
      if (!isV1Target(url)) return false;
      const checked = canonicalTarget(url, { allowEncodedSlashIn: req.method === 'GET' ? getParamWithSlash : rateLimitParam });
      if (!checked.ok) {
        req.resume();
        sendError(res, invalidUrl(req.method ?? 'GET', url.split('?')[0]), o.logger, o.newRequestId());
        return true;
      }
      const path = checked.path;
      // Canonical, and in the one spelling of the prefix (`/V1/files` is canonical but not ours to forward as /files).
      if (path !== '/v1' && !path.startsWith('/v1/')) {
        req.resume();
        sendError(res, invalidUrl(req.method ?? 'GET', path), o.logger, o.newRequestId());
        return true;
      }
      if (isControlPlanePath(path)) return false;
      requestId = o.newRequestId();
      if (isNeverForwarded(path) || !isForwarded(path)) {
        req.resume();
        sendError(res, invalidUrl(req.method ?? 'GET', path), o.logger, requestId);
        return true;
      }
      target = { path, search: checked.search };
      if (checked.search === '' && url.length <= 256) {
        if (memo.size >= 1024) memo.clear();
        memo.set(url, target);
      }
    } else requestId = o.newRequestId();
    const path = target.path;
    const started = performance.now();
    const format = answerFormat(req.method ?? 'GET', path, req.headers);
    // Decided here, after the target cache (it is kept by target, not by method), before the key is looked at.
    if (!isServedMethod(req.method ?? 'GET')) {
      req.resume();
      sendError(res, methodNotServed(req.method ?? ''), o.logger, requestId, format);
      return true;
    }
    if (o.isClosing()) {
      res.setHeader('connection', 'close');
      sendError(res, new TollgateError('service_unavailable', 'The server is shutting down; retry on another instance.'), o.logger, requestId, format);
      return true;
    }
    // A credential in the query string would be forwarded with it: refused, naming the parameter, never its value.
    const credential = target.search === '' ? null : credentialInQuery(target.search);
    if (credential !== null) {
      req.resume();
      const message = `Credentials are not accepted in the query string ('${credential}'): send the key in the Authorization header (or api-key, x-api-key), and revoke it if it was sent in a URL.`;
      sendError(res, new TollgateError('invalid_value', message, credential), o.logger, requestId, format);
      return true;
    }
    const route = req.method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models/')) ? modelsRoute(path) : null;
    serve(g, o, req, res, target, ipOf(req), route, requestId).then(
      () => o.observe?.(route?.label ?? '/v1/*', req.method ?? 'GET', res.statusCode, (performance.now() - started) / 1000),
      (err: unknown) => {
        sendError(res, err, o.logger, requestId, format);
        o.observe?.(route?.label ?? '/v1/*', req.method ?? 'GET', res.statusCode, (performance.now() - started) / 1000);
      },
    );
    return true;
  };
}

const ALLOW = SERVED_METHODS.join(', ');

/** The 405 for a method the gateway does not forward (core/api-routes.ts SERVED_METHODS), naming those it does. */
function methodNotServed(method: string): TollgateError {
  const te = new TollgateError('method_not_allowed', `${method.slice(0, 32)} is not served on /v1: send ${ALLOW}.`);
  te.headers = { allow: ALLOW };
  return te;
}

interface ModelsRoute {
  label: string;
  model: string | null;
}

function modelsRoute(path: string): ModelsRoute {
  const rest = path.slice('/v1/models/'.length);
  if (!rest) return { label: '/v1/models', model: null };
  let model = rest;
  try {
    model = decodeURIComponent(rest);
  } catch {
    // not percent-encoded as it should be: taken literally
  }
  return { label: '/v1/models/:model', model };
}

async function serve(
  g: GatewayContext,
  o: GatewayListenerOptions,
  req: IncomingMessage,
  res: ServerResponse,
  target: { path: string; search: string },
  ip: string,
  route: ModelsRoute | null,
  requestId: string,
): Promise<void> {
  // The key is checked on the headers alone, before a byte of the body is read: a caller without a valid key cannot
  // make the gateway hold its body (up to TOLLGATE_BODY_LIMIT, on as many connections as it opens), nor parse it.
  const head = gatewayRequest(req, target, ip, requestId);
  const changes = g.app.keyCache.changes;
  let record: KeyRecord;
  try {
    const authorized = authorizeGatewayRequest(g, head);
    record = isPending(authorized) ? await authorized : authorized;
    g.anomaly?.observe(record, ip, g.app.deps.clock());
    // Its scope too (README "Order of checks": key, organization and project, address, scope), before anything of its
    // body is read or parsed, so that a key outside its scope is told so whatever the body says.
    checkRequestScope(g, head, record);
  } catch (err) {
    // The refused request's body is never read: the connection closes after the answer rather than draining it.
    if (hasBody(req)) res.setHeader('connection', 'close');
    throw err;
  }
  // A client waiting for `100 Continue` is invited to send its body only now, its key let through.
  continueIfAwaited(req, res);
  const pending = readBody(req, o.bodyLimit, o.bodyIdleTimeoutMs);
  const request = withBody(req, head, isPending(pending) ? await pending : pending);
  // A key or project changed while the body arrived (a body can take minutes, a byte within each idle timeout): the
  // key is checked again, so that a key revoked, disabled or restricted meanwhile does not carry a request written
  // after the change (found by an outside review: a body trickled in after a revoke was forwarded and answered 200).
  if (g.app.keyCache.changes !== changes) {
    const again = authorizeGatewayRequest(g, head);
    record = isPending(again) ? await again : again;
    checkRequestScope(g, head, record);
  }
  if (route) return listModels(g, request, res, route.model, record);
  // Under way, it is cut if its key stops verifying (revoked, exposed, archived…): live-requests.ts.
  const live = g.live?.add(g, record, head, res);
  try {
    await proxy(g, request, res, record);
  } finally {
    if (live) g.live?.remove(live);
  }
}

/** Whether the request announces a body (a length above zero, or a chunked one). */
function hasBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return (declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined;
}
