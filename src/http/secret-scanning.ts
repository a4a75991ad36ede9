import { verify } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TollgateError } from '../core/errors.js';
import { reportExposed } from '../services/exposure.js';
import { text } from '../services/text-fields.js';
import { parseInput } from '../services/validation.js';
import type { AppContext } from './context.js';
import { throttleGuard } from './shared/authenticate.js';

// The secret-scanning partner protocol used by code hosts: a signed JSON array of {token, type, url, source}.
// Authenticated by the ECDSA signature over the raw body (no bearer key), verified against each trusted
// reporter's public key. Answers each token's SHA-256 with true_positive / false_positive. A report without a good
// signature is a guess at a credential: it counts against the address as an unknown API key does, and an address
// refused for guessing (429) is refused before its signature is checked or anything logged: no stranger fills the log.

const Report = z
  .array(z.object({ token: text({ max: 256 }), type: text({ max: 128 }).optional(), url: text({ max: 2048 }).optional(), source: text({ max: 256 }).optional() }))
  .min(1)
  .max(1000);

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
  app.post('/v1/secret-scanning/reports', async (request) => {
    throttleGuard(ctx, request.ip);
    const keyId = header(request, ['x-tollgate-signature-key-id', 'github-public-key-identifier']);
    const signature = header(request, ['x-tollgate-signature', 'github-public-key-signature']);
    const reporter = verifyReport(reporters, keyId, signature, request.rawBody ?? Buffer.alloc(0));
    if (!reporter) {
      ctx.authThrottle.fail(request.ip, ctx.deps.clock());
      request.log.warn({ keyId, ip: request.ip, signed: !!signature }, 'secret-scanning report refused: bad or missing signature');
      throw new TollgateError('invalid_signature');
    }
    const items = parseInput(Report, request.body);
    const results = await reportExposed(
      ctx.deps,
      null,
      items.map((i) => ({ ...i, source: i.source ?? reporter.name })),
      { type: 'reporter', id: reporter.name, ip: request.ip },
      ctx.notify.exposed,
    );
    return results.map(({ token_hash, token_type, label }) => ({ token_hash, token_type, label }));
  });
}
