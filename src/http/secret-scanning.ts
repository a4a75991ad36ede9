import { verify } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TollgateError } from '../core/errors.js';
import { MAX_EXPOSED_URL_LENGTH, MAX_EXPOSURE_SOURCE_LENGTH, MAX_EXPOSURE_TYPE_LENGTH } from '../core/exposure-report.js';
import { type ExposureReportItem, reportExposed } from '../services/exposure.js';
import { text } from '../services/text-fields.js';
import type { AppContext } from './context.js';
import { throttleGuard } from './shared/authenticate.js';
import { isJsonContentType } from './shared/json-body.js';
import { EXPOSURE_REPORT_BODY_LIMIT } from './shared/body-limits.js';

// The secret-scanning partner protocol used by code hosts: a signed JSON array of {token, type, url, source}.
// Authenticated by the ECDSA signature over the raw body (no bearer key), verified against each trusted
// reporter's public key. Answers each token's SHA-256 with true_positive / false_positive. A report without a good
// signature is a guess at a credential: it counts against the address as an unknown API key does, and an address
// refused for guessing (429) is refused before its signature is checked or anything logged: no stranger fills the log.

// Each report is judged on its own: one malformed item (a URL past the cap, a null) must not throw away the others,
// among them a live key that should be disabled now. The token is what matters: a report whose token is a string is
// acted on; an optional member that is not a text within its cap is not recorded, and the answer says so.
const MAX_REPORTS = 1000;
const OPTIONAL_MEMBERS = {
  type: text({ max: MAX_EXPOSURE_TYPE_LENGTH }).nullish(),
  url: text({ max: MAX_EXPOSED_URL_LENGTH }).nullish(),
  source: text({ max: MAX_EXPOSURE_SOURCE_LENGTH }).nullish(),
} as const;

/** One report read from the body: what can be acted on, and what could not be read (as messages). */
export interface ReadReport {
  item: ExposureReportItem | null;
  problems: string[];
}

/** Reads one report of the array (at `index`) without throwing; a report without a string token has no item. */
export function readReport(value: unknown, index: number): ReadReport {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { item: null, problems: [`Invalid value for '${index}': must be an object with a 'token'.`] };
  }
  const members = value as Record<string, unknown>;
  const problems: string[] = [];
  const item: ExposureReportItem = { token: '' };
  for (const name of Object.keys(OPTIONAL_MEMBERS) as Array<keyof typeof OPTIONAL_MEMBERS>) {
    const parsed = OPTIONAL_MEMBERS[name].safeParse(members[name]);
    if (!parsed.success) problems.push(`Invalid value for '${index}.${name}': ${parsed.error.issues[0].message}; it was not recorded.`);
    else if (parsed.data != null) item[name] = parsed.data;
  }
  if (typeof members.token !== 'string') {
    const what = members.token === undefined ? `Missing required parameter: '${index}.token'.` : `Invalid value for '${index}.token': must be a string.`;
    return { item: null, problems: [what, ...problems] };
  }
  item.token = members.token;
  return { item, problems };
}

export interface Reporter {
  name: string;
  keyId: string;
  publicKey: string;
}

function header(request: FastifyRequest, names: string[]): string | null {
  for (const n of names) {
    const v = request.headers[n];
    if (typeof v === 'string' && v) return v;
  }
  return null;
}

/** The reporter whose key signed this raw body, or null. */
export function verifyReport(reporters: Reporter[], keyId: string | null, signature: string | null, raw: Buffer): Reporter | null {
  if (!keyId || !signature) return null;
  const reporter = reporters.find((r) => r.keyId === keyId);
  if (!reporter) return null;
  try {
    return verify('sha256', raw, reporter.publicKey, Buffer.from(signature, 'base64')) ? reporter : null;
  } catch {
    return null;
  }
}

/** POST /v1/secret-scanning/reports */
export function registerSecretScanning(app: FastifyInstance, ctx: AppContext, reporters: Reporter[]): void {
  app.post('/v1/secret-scanning/reports', { bodyLimit: EXPOSURE_REPORT_BODY_LIMIT }, async (request) => {
    throttleGuard(ctx, request.ip);
    // The signature is over the JSON body's bytes, which only a JSON body keeps (rawBody): another type would be refused
    // as unsigned, which sends the reporter looking at its keys instead of its Content-Type.
    if (!isJsonContentType(request.headers['content-type'])) {
      throw new TollgateError('unsupported_media_type', 'Unsupported Content-Type; send the report as application/json.');
    }
    const keyId = header(request, ['x-tollgate-signature-key-id', 'github-public-key-identifier']);
    const signature = header(request, ['x-tollgate-signature', 'github-public-key-signature']);
    const reporter = verifyReport(reporters, keyId, signature, request.rawBody ?? Buffer.alloc(0));
    if (!reporter) {
      ctx.authThrottle.fail(request.ip, ctx.deps.clock());
      request.log.warn({ keyId, ip: request.ip, signed: !!signature }, 'secret-scanning report refused: bad or missing signature');
      throw new TollgateError('invalid_signature');
    }
    const body = request.body;
    if (!Array.isArray(body) || body.length === 0 || body.length > MAX_REPORTS) {
      throw new TollgateError('invalid_value', `The request body must be a JSON array of 1 to ${MAX_REPORTS} reports.`, null);
    }
    const read = body.map(readReport);
    const items = read.flatMap((r) => (r.item ? [{ ...r.item, source: r.item.source ?? reporter.name }] : []));
    const results = await reportExposed(ctx.deps, null, items, { type: 'reporter', id: reporter.name, ip: request.ip }, ctx.notify.exposed);
    let next = 0;
    return read.map(({ item, problems }) => {
      const error = problems.length > 0 ? { error: problems.join(' ') } : {};
      if (!item) return { token_hash: null, token_type: null, label: 'invalid', ...error };
      const { token_hash, token_type, label } = results[next++];
      return { token_hash, token_type, label, ...error };
    });
  });
}
