import { createServer } from 'node:http';
import { listenOnLoopback } from './provider-config.js';
import type { TestServer } from './server.js';

/** A webhook delivery as Tollgate posts it. */
export interface Delivery {
  type: string;
  data: Record<string, unknown>;
}

/** A receiver on 127.0.0.1 that keeps every delivery, subscribed to `eventTypes` on `t` (POST /v1/organization/webhooks). */
export async function startWebhookReceiver(t: TestServer, eventTypes: string[]): Promise<{ received: Delivery[]; close(): void }> {
  const received: Delivery[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push(JSON.parse(Buffer.concat(chunks).toString()));
    res.end();
  });
  const url = `${await listenOnLoopback(server)}/hook`;
  const created = await t.api('POST', '/v1/organization/webhooks', { body: { url, event_types: eventTypes } });
  if (created.status !== 200) throw new Error(`webhook not created: ${created.status} ${JSON.stringify(created.body)}`);
  return { received, close: () => server.close() };
}
