import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TollgateError } from '../../core/errors.js';
import type { AccountContext } from '../../services/accounts.js';
import { previewInvite } from '../../services/invites.js';
import { text } from '../../services/text-fields.js';
import { parseInput } from '../../services/validation.js';
import { SIGN_IN_BODY_LIMIT } from '../shared/body-limits.js';

const Lookup = z.strictObject({ token: text({ max: 256 }) });

/**
 * POST /auth/invites/lookup {token} — what an invitation link is for (email, role, organization), so the accept
 * page can prefill the form. POST keeps the token out of URLs that proxies log.
 */
export function registerInviteLookup(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/invites/lookup', { bodyLimit: SIGN_IN_BODY_LIMIT }, async (request) => {
    const { token } = parseInput(Lookup, request.body);
    const preview = await previewInvite(ctx.deps, { id: ctx.orgId, name: ctx.orgName }, token);
    if (!preview) throw new TollgateError('not_found', 'This invitation link is invalid, was withdrawn, or has expired.', 'token');
    return preview;
  });
}
