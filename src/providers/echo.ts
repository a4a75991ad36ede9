import { randomUUID } from 'node:crypto';
import { TollgateError } from '../core/errors.js';
import { chatCompletion, completion } from './echo-chat.js';
import { createEmbeddings } from './echo-embeddings.js';
import { createResponse } from './echo-responses.js';
import { EchoRefusal, json, refusal } from './echo-wire.js';
import type { Upstream, UpstreamRequest, UpstreamResponse } from '../core/upstream.js';

export const ECHO_MODEL = 'tollgate-echo';

// The built-in model when no upstream is configured: deterministic, offline, with real token counts and streaming,
// so the whole flow (keys, scopes, metering, limits) works on a fresh machine. It answers in OpenAI's objects and
// events (validated against OpenAI's published specification in test/echo-fidelity.test.ts) and refuses what
// OpenAI refuses, so that what works against it works against OpenAI.

const notFound = (message: string, code: 'model_not_found' | 'unknown_url' = 'model_not_found') =>
  refusal(new TollgateError(code, message, code === 'model_not_found' ? 'model' : null));

/**
 * How to configure a provider for a model: ANTHROPIC_API_KEY forwards Claude models (`claude-*`, config/gateway-config.ts),
 * OPENAI_API_KEY the rest; any provider through the config file.
 */
function providerHint(model: string): string {
  return /^claude-/i.test(model) ? 'set ANTHROPIC_API_KEY for Claude models, or TOLLGATE_CONFIG' : 'set OPENAI_API_KEY or TOLLGATE_CONFIG';
}

export class EchoUpstream implements Upstream {
  readonly name = 'echo';
  readonly format = 'openai' as const;
  readonly models = [ECHO_MODEL];
  readonly totalTimeoutMs = 60_000;
  readonly credential = null;

  /** `clock`: the injected clock (milliseconds), for the answers' `created` times. */
  constructor(private readonly clock: () => number) {}

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (req.method === 'GET' && req.path === '/models') {
      return json(200, { object: 'list', data: [{ id: ECHO_MODEL, object: 'model', created: 1_735_689_600, owned_by: 'tollgate' }] });
    }
    if (req.method === 'GET' && req.path === `/models/${ECHO_MODEL}`) {
      return json(200, { id: ECHO_MODEL, object: 'model', created: 1_735_689_600, owned_by: 'tollgate' });
    }
    if (req.method !== 'POST') return notFound(`Invalid URL (${req.method} /v1${req.path})`, 'unknown_url');
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = req.body?.length ? JSON.parse(req.body.toString('utf8')) : null;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return refusal(new TollgateError('invalid_json', 'We could not parse the JSON body of your request: expected a JSON object.'));
      }
      body = parsed as Record<string, unknown>;
    } catch {
      return refusal(new TollgateError('invalid_json', 'We could not parse the JSON body of your request.'));
    }
    if (body.model === undefined || body.model === null) {
      return refusal(new TollgateError('missing_required_parameter', 'You must provide a model parameter.', 'model'));
    }
    if (body.model !== ECHO_MODEL) {
      const model = String(body.model).slice(0, 256);
      return notFound(`The model '${model}' does not exist. No upstream is configured, so only the built-in '${ECHO_MODEL}' model answers (${providerHint(model)}).`);
    }
    const created = Math.floor(this.clock() / 1000);
    const hex = () => randomUUID().replace(/-/g, '');
    try {
      switch (req.path) {
        case '/chat/completions':
          return await chatCompletion(body, `chatcmpl-${hex()}`, created, ECHO_MODEL);
        case '/completions':
          return await completion(body, `cmpl-${hex()}`, created, ECHO_MODEL);
        case '/embeddings':
          return await createEmbeddings(body, ECHO_MODEL);
        case '/responses':
          return await createResponse(body, `resp_${hex()}`, created, ECHO_MODEL);
        default:
          return notFound(`Invalid URL (POST /v1${req.path})`, 'unknown_url');
      }
    } catch (err) {
      if (err instanceof EchoRefusal) return refusal(err.error);
      throw err;
    }
  }

  async close(): Promise<void> {}
}
