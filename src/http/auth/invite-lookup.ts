import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TollgateError } from '../../core/errors.js';
import type { AccountContext } from '../../services/accounts.js';
import { findPendingInvite } from '../../services/invites.js';
import { text } from '../../services/text-fields.js';
import { parseInput } from '../../services/validation.js';

const Lookup = z.strictObject({ token: text({ max: 256 }) });

/**
 * POST /auth/invites/lookup {token} — what an invitation link is for (email, role, organization), so the accept
 * page can prefill the form. POST keeps the token out of URLs that proxies log.
 */
export function registerInviteLookup(app: FastifyInstance, ctx: AccountContext): void {
  app.post('/auth/invites/lookup', async (request) => {
    const { token } = parseInput(Lookup, request.body);
    const invite = await findPendingInvite(ctx.deps, token);
    if (!invite || invite.orgId !== ctx.orgId) {
      throw new TollgateError('not_found', 'This invitation link is invalid, was withdrawn, or has expired.', 'token');
    }
    const ids = invite.projects.map((p) => p.id);
    const names = ids.length
      ? new Map((await ctx.deps.database.db.selectFrom('projects').select(['id', 'name']).where('id', 'in', ids).execute()).map((p) => [p.id, p.name]))
      : new Map<string, string>();
    return {
      object: 'organization.invite.preview',
      email: invite.email,
      role: invite.role,
      expires_at: invite.expiresAt,
      organization: { id: ctx.orgId, name: ctx.orgName },
      projects: invite.projects.map((p) => ({ id: p.id, name: names.get(p.id) ?? p.id, role: p.role })),
    };
  });
}
