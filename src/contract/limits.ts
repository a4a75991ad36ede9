import type { RateLimitField } from '../core/project-rate-limits.js';

// A project's rate limits as the admin API answers them (services/rate-limits.ts builds them).

export type RateLimitObject = {
  object: 'project.rate_limit';
  id: string;
  /** '*' for the limit that applies to every model of the project. */
  model: string;
  max_requests_per_1_minute: number;
  max_tokens_per_1_minute: number;
} & Partial<Record<Exclude<RateLimitField, 'max_requests_per_1_minute' | 'max_tokens_per_1_minute'>, number>>;
