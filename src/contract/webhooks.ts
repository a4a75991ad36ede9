// Webhook endpoints as the admin API answers them (services/webhooks.ts builds them).

export interface WebhookObject {
  object: 'webhook_endpoint';
  id: string;
  url: string;
  event_types: string[];
  redacted_secret: string;
  created_at: number;
}

/** A webhook endpoint as created: with its signing secret (shown this once). */
export type CreatedWebhook = WebhookObject & { secret: string };
