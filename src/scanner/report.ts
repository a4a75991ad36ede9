import { z } from 'zod';
import { hashSecret } from '../core/key-format.js';
import type { KeyLookup } from './findings.js';

// Client for the two admin endpoints a scan uses: look found secrets up (are they ours, are they live?)
// and report them as exposed (the server disables the true positives). Secrets travel only in request
// bodies to the server the user named; answers are matched back by SHA-256, which the server never
// echoes in the clear.

export interface ServerOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  server: string;
  adminKey: string;
  /** How long one request may take: a hung server must not hang a pre-commit hook forever. */
  timeoutMs?: number;
}

/** A secret to report and where it was found. */
export interface ExposureReport {
  secret: string;
  url: string;
}

export type ReportLabel = 'true_positive' | 'false_positive';

/** The server's answer for one reported secret. */
export interface ReportAnswer {
  label: ReportLabel;
  /** Whether this report disabled the key (the server names the key it disabled). */
  disabled: boolean;
  /** What the secret can do now (`exposed`, `rotated_out`, `revoked`…), when the server says; older servers do not. */
  status: string | null;
}

// Both endpoints take at most 100 secrets per request.
const BATCH = 100;
const DEFAULT_TIMEOUT_MS = 30_000;

const LookupResponse = z.object({
  data: z.array(
    z.discriminatedUnion('found', [
      z.object({
        hash: z.string(),
        found: z.literal(true),
        id: z.string(),
        kind: z.enum(['project', 'admin']),
        project_id: z.string().nullable().optional(),
        name: z.string().nullable().optional(),
        status: z.string(),
      }),
      z.object({ hash: z.string(), found: z.literal(false) }),
    ]),
  ),
});

const ReportResponse = z.object({
  data: z.array(
    z.object({
      token_hash: z.string(),
      label: z.enum(['true_positive', 'false_positive']),
      disabled_key_id: z.string().nullish(),
      status: z.string().nullish(),
    }),
  ),
});

/** Looks secrets up on the server; a secret absent from the result was not answered for. Throws when unreachable. */
export async function lookupSecrets(options: ServerOptions, secrets: readonly string[]): Promise<Map<string, KeyLookup>> {
  const out = new Map<string, KeyLookup>();
  for (let i = 0; i < secrets.length; i += BATCH) {
    const batch = secrets.slice(i, i + BATCH);
    const body = LookupResponse.parse(await post(options, '/v1/organization/api_keys/lookup', { secrets: batch }));
    const byHash = new Map(body.data.map((item) => [item.hash, item]));
    for (const secret of batch) {
      const item = byHash.get(hashSecret(secret));
      if (!item) continue;
      out.set(
        secret,
        item.found
          ? { found: true, id: item.id, kind: item.kind, project_id: item.project_id ?? null, name: item.name ?? null, status: item.status }
          : { found: false },
      );
    }
  }
  return out;
}

/** What the server answered for each reported secret, and why each secret it did not answer for was not reported. */
export interface ReportResults {
  answers: Map<string, ReportAnswer>;
  /** The secrets whose report failed (the key may still be live), each with why. */
  failures: Map<string, string>;
}

/**
 * Reports secrets as exposed, 100 to a request. A request that fails does not stop the others: its secrets are
 * returned as failures, and a request the server refuses as invalid (400: one report past a cap refuses the whole
 * body) is sent again one report at a time, so that only the report at fault fails and the other keys are disabled.
 * The admin key the reports are sent with, when found among them, is reported last, in the last request: reporting it
 * disables it, and a request after that one would be refused (the keys in it left live).
 */
export async function reportExposed(options: ServerOptions, all: readonly ExposureReport[]): Promise<ReportResults> {
  const own = (r: ExposureReport) => r.secret === options.adminKey;
  const reports = [...all.filter((r) => !own(r)), ...all.filter(own)];
  const out: ReportResults = { answers: new Map(), failures: new Map() };
  const send = async (batch: readonly ExposureReport[]): Promise<void> => {
    const body = ReportResponse.parse(
      await post(options, '/v1/organization/api_keys/report_exposed', {
        reports: batch.map((r) => ({ token: r.secret, url: r.url, source: 'tollgate-scan' })),
      }),
    );
    const byHash = new Map(body.data.map((item) => [item.token_hash, item]));
    for (const r of batch) {
      const item = byHash.get(hashSecret(r.secret));
      if (item) out.answers.set(r.secret, { label: item.label, disabled: Boolean(item.disabled_key_id), status: item.status ?? null });
    }
  };
  for (let i = 0; i < reports.length; i += BATCH) {
    const batch = reports.slice(i, i + BATCH);
    try {
      await send(batch);
    } catch (err) {
      if (err instanceof HttpError && err.status === 400 && batch.length > 1) {
        for (const r of batch) await send([r]).catch((e: unknown) => out.failures.set(r.secret, errorMessage(e)));
      } else {
        for (const r of batch) out.failures.set(r.secret, errorMessage(err));
      }
    }
  }
  return out;
}

/** An answer of the server that is not 2xx. */
class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch() hides the reason (ECONNREFUSED, a DNS failure) in `cause`.
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/**
 * Why an answer that redirects (3xx) is not followed, naming where it points (without a user or password) and, when it
 * is the path asked for at another base, that base to give as --server. Found by review: fetch followed a 307 with the
 * body (the keys a scan found, a provider key) to another origin, and the command reported success.
 */
export function redirectRefusal(status: number, location: string | null, url: string, path: string): string {
  const why = 'not followed: the request carries the admin key and what it sends';
  if (!location) return `answered ${status}, a redirect without a Location (${why})`;
  let target: URL;
  try {
    target = new URL(location, url);
  } catch {
    return `answered ${status}, a redirect to a location that is not a URL (${why})`;
  }
  target.username = '';
  target.password = '';
  const base = target.href.endsWith(path) ? target.href.slice(0, -path.length) : null;
  return `answered ${status}, a redirect to ${target.href} (${why}); if that is the Tollgate server, use ${base ?? 'its URL'} as --server`;
}

async function post(options: ServerOptions, path: string, body: unknown): Promise<unknown> {
  const url = options.server.replace(/\/+$/, '') + path;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${options.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (err) {
    // The whole call, the answer's body read too; the CLI sets it (TOLLGATE_CLI_TIMEOUT_MS).
    if ((err as { name?: unknown } | null)?.name === 'TimeoutError') throw new Error(`${path} did not answer in ${timeoutMs / 1000} s (TOLLGATE_CLI_TIMEOUT_MS)`);
    throw err;
  }
  if (res.status >= 300 && res.status < 400) throw new HttpError(`${path} ${redirectRefusal(res.status, res.headers.get('location'), url, path)}`, res.status);
  if (!res.ok) {
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // Not JSON (a proxy's error page): the start of the text says enough.
    }
    throw new HttpError(`${path} answered HTTP ${res.status}: ${message}`, res.status);
  }
  return JSON.parse(text);
}
