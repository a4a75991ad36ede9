import type { FastifyInstance } from 'fastify';
import { parseQuery } from '../../services/query-params.js';
import { AddCredentialBody, CreateProviderBody, ListProvidersQuery, RotateCredentialBody, UpdateProviderBody } from '../../services/runtime-provider-input.js';
import { parseInput } from '../../services/validation.js';
import type { AppContext } from '../context.js';
import { actorOf } from './admin-auth.js';
import { refuseQuery, refuseQueryAndBody } from './strict-input.js';

type P = { Params: { provider_id: string; credential_id: string } };

const noQuery = { preValidation: refuseQuery };
const noInput = { preValidation: refuseQueryAndBody };

/**
 * /v1/organization/providers: providers and their credentials managed at run time (docs/providers.md). Owner-only
 * (services/session-access.ts); a credential's secret goes in and is never answered.
 */
export function registerProviderRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { providers, orgId } = ctx;
  const one = '/providers/:provider_id';
  const cred = `${one}/credentials/:credential_id`;
  app.get('/providers', (req) => providers.list(orgId, parseQuery(ListProvidersQuery, req.query)));
  app.post('/providers', noQuery, (req) => providers.create(orgId, parseInput(CreateProviderBody, req.body), actorOf(req)));
  app.get<P>(one, noQuery, (req) => providers.get(orgId, req.params.provider_id));
  app.post<P>(one, noQuery, (req) => providers.update(orgId, req.params.provider_id, parseInput(UpdateProviderBody, req.body), actorOf(req)));
  app.delete<P>(one, noInput, (req) => providers.delete(orgId, req.params.provider_id, actorOf(req)));

  app.get<P>(`${one}/credentials`, (req) => providers.listCredentials(orgId, req.params.provider_id, parseQuery(ListProvidersQuery, req.query)));
  app.post<P>(`${one}/credentials`, noQuery, (req) => providers.addCredential(orgId, req.params.provider_id, parseInput(AddCredentialBody, req.body), actorOf(req)));
  app.get<P>(cred, noQuery, (req) => providers.getCredential(orgId, req.params.provider_id, req.params.credential_id));
  app.delete<P>(cred, noInput, (req) => providers.deleteCredential(orgId, req.params.provider_id, req.params.credential_id, actorOf(req)));
  app.post<P>(`${cred}/rotate`, noQuery, (req) => providers.rotateCredential(orgId, req.params.provider_id, req.params.credential_id, parseInput(RotateCredentialBody, req.body), actorOf(req)));
  app.post<P>(`${cred}/disable`, noInput, (req) => providers.setCredentialStatus(orgId, req.params.provider_id, req.params.credential_id, 'disabled', actorOf(req)));
  app.post<P>(`${cred}/enable`, noInput, (req) => providers.setCredentialStatus(orgId, req.params.provider_id, req.params.credential_id, 'active', actorOf(req)));
}
