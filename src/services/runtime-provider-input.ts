import { z } from 'zod';
import { KEY_CHARACTERS, PROVIDER_KINDS } from '../config/gateway-config.js';
import { baseUrlProblem } from '../core/provider-url.js';
import { pageParams } from './query-params.js';
import { text } from './text-fields.js';
import { DEPLOYMENT_NAME } from '../core/upstream.js';

// The requests of the runtime providers' admin API (docs/admin-api.md), parsed once at the HTTP edge and handed to
// services/runtime-providers.ts typed.

const ProviderName = text({ max: 64, min: 1 }).regex(/^[a-z0-9_-]+$/i, 'must be letters, digits, - and _');
const ModelId = text({ max: 256, min: 1 }).refine((m) => !m.includes('*'), 'is a model id; use model_prefixes for prefixes');
const BaseUrl = text({ max: 2048 }).superRefine((url, ctx) => {
  const problem = baseUrlProblem(url);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const ApiVersion = text({ max: 64 }).regex(/^[\x21-\x7e]{1,64}$/, 'must be a version (printable, no spaces)');
const Deployments = z.record(text({ max: 256, min: 1 }), text({ max: 64 }).regex(DEPLOYMENT_NAME, 'must be a deployment name (not . or ..)'));

const ProviderFields = {
  kind: z.enum(PROVIDER_KINDS).optional(),
  base_url: BaseUrl,
  models: z.array(ModelId).max(1000).optional(),
  model_prefixes: z.array(text({ max: 256, min: 1 }).refine((m) => !m.includes('*'), 'is a prefix, without *')).max(100).optional(),
  api_version: ApiVersion.nullable().optional(),
  deployments: Deployments.nullable().optional(),
};
/** The body of POST /providers. */
export const CreateProviderBody = z.strictObject({ name: ProviderName, ...ProviderFields });
export type CreateProviderBody = z.output<typeof CreateProviderBody>;
/** The body of POST /providers/{provider_id}: members left out keep their value. */
export const UpdateProviderBody = z.strictObject({ name: ProviderName.optional(), ...ProviderFields, base_url: BaseUrl.optional() });
export type UpdateProviderBody = z.output<typeof UpdateProviderBody>;

/** A provider's key as given: printable ASCII without spaces (it goes into a header as it is). */
// The rule a key from the environment is held to (config/gateway-config.ts): a header carries it as it is.
const Secret = text({ max: 4096, min: 1 }).regex(KEY_CHARACTERS, 'must be printable ASCII without spaces');
const Weight = z.number().positive().max(1_000_000).finite();
/** The body of POST /providers/{provider_id}/credentials. */
export const AddCredentialBody = z.strictObject({ value: Secret, weight: Weight.optional() });
export type AddCredentialBody = z.output<typeof AddCredentialBody>;
/** The body of POST /providers/{provider_id}/credentials/{credential_id}/rotate. */
export const RotateCredentialBody = z.strictObject({ value: Secret });
export type RotateCredentialBody = z.output<typeof RotateCredentialBody>;
/** The query of GET /providers and GET /providers/{provider_id}/credentials. */
export const ListProvidersQuery = z.strictObject(pageParams);
export type ListProvidersQuery = z.output<typeof ListProvidersQuery>;
