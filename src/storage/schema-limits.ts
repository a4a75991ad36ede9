/** A rate limit of a project (all models when `model` is '') — OpenAI's project.rate_limit. */
export interface RateLimitsTable {
  id: string;
  project_id: string;
  model: string;
  max_requests_per_1_minute: number | null;
  max_tokens_per_1_minute: number | null;
  max_requests_per_1_day: number | null;
  /** Stored and shown, not enforced (093). */
  max_images_per_1_minute: number | null;
  max_audio_megabytes_per_1_minute: number | null;
  batch_1_day_max_input_tokens: number | null;
  created_at: number;
  updated_at: number;
  /** The setting of max_requests_per_1_day: a token made anew whenever it changes (106), as api_keys.rpd_rev. */
  rpd_rev: string | null;
}

/** A project's spend limit (cents per interval); the organization's is stored under its id. */
export interface SpendLimitsTable {
  project_id: string;
  threshold_amount: number | null;
  interval: string;
  /** `enabled` (refuses over the limit) or `disabled` (watched only); OpenAI's `enforcing` and `inactive`. */
  enforcement: string;
  updated_at: number;
  /** The setting of the limit's interval: a token made anew when it changes or the limit is set again (106). */
  spend_rev: string | null;
}

/** A spend alert (OpenAI's spend_alert) of a project, or of the organization when project_id is the org's id. */
export interface SpendAlertsTable {
  seq: import('kysely').Generated<number>;
  id: string;
  org_id: string;
  project_id: string;
  /** Cents of the month's spend. */
  threshold_amount: number;
  currency: string;
  interval: string;
  channel_type: string;
  /** JSON array of email addresses. */
  recipients: string;
  subject_prefix: string | null;
  created_at: number;
  updated_at: number;
}

/** One alert per threshold per period: the unique row is the claim. */
export interface AlertsSentTable {
  scope: string;
  period: string;
  threshold: number;
  sent_at: number;
}

/** Webhook endpoints; the signing secret is stored encrypted with the server secret (it must be usable to sign). */
export interface WebhooksTable {
  seq: import('kysely').Generated<number>;
  id: string;
  org_id: string;
  url: string;
  event_types: string;
  secret_encrypted: string;
  redacted_secret: string;
  created_at: number;
  deleted_at: number | null;
}

/**
 * A webhook event owed to one endpoint (migration 101), kept until answered 2xx or given up: the exact body, the
 * attempts made, when the next is due and the lease of the instance sending it (milliseconds).
 */
export interface WebhookDeliveriesTable {
  seq: import('kysely').Generated<number>;
  event_id: string;
  webhook_id: string;
  type: string;
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: import('kysely').Generated<number>;
  next_attempt_at_ms: number;
  leased_until_ms: import('kysely').Generated<number>;
  lease_id: string | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

/** Networks a key has been used from (anomaly signals). */
export interface KeyNetworksTable {
  key_id: string;
  network: string;
  first_seen: number;
}

/** Limit tables (see migrations-limits.ts, migrations-spend.ts). */
export interface LimitTables {
  rate_limits: RateLimitsTable;
  spend_limits: SpendLimitsTable;
  spend_alerts: SpendAlertsTable;
  alerts_sent: AlertsSentTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  key_networks: KeyNetworksTable;
}
