import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from './gateway-context.js';
import { listModels } from './models.js';
import { proxy } from './proxy.js';

/** The data plane: `/v1/models` answered here, every other `/v1/*` verified, scoped, limited, forwarded and metered. */
export function registerGateway(app: FastifyInstance, g: GatewayContext): void {
  // Pass-through bodies of any type (multipart uploads, audio) reach the upstream byte for byte.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.rawBody = body;
    done(null, body);
  });
  app.get('/v1/models', (req, reply) => listModels(g, req, reply, null));
  app.get<{ Params: { model: string } }>('/v1/models/:model', (req, reply) => listModels(g, req, reply, req.params.model));
  app.all('/v1/*', (req, reply) => proxy(g, req, reply));
}
