import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

/** GET /v1/organization/usage/* and /costs (OpenAI's Usage API). */
export function registerUsageRoutes(_app: FastifyInstance, _ctx: AppContext): void {}
