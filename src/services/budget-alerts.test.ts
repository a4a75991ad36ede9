import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../storage/database.js';
import { raiseBudgetAlert } from './budget-alerts.js';
import { noopChanges, type ServiceDeps } from './context.js';
import type { BudgetAlert } from './limits-guard.js';
import { AesGcmCipher } from '../infra/aes-gcm-cipher.js';
import { webhookSecretContext } from './sealed-secrets.js';
import { Webhooks } from './webhooks.js';

const SECRET = 'current-server-secret-0123456789abcdef';
const T0 = Date.parse('2026-12-07T12:00:00Z');
let database: Database | null = null;
afterEach(async () => {
  await database?.close();
  database = null;
});

const alert: BudgetAlert = {
  scope: 'api_key',
  scopeId: 'key_1',
  orgId: 'org-1',
  projectId: 'proj_1',
  period: '2026-12',
  percent: 80,
  thresholdNanoUsd: 8e9,
  usedNanoUsd: 8.1e9,
  capNanoUsd: 10e9,
  spendAlert: null,
  earlierPeriods: [],
};

describe('raiseBudgetAlert', () => {
  // The claim was committed, then the event queued: an event that failed after its claim was never sent, and never
  // raised again in its period (the claim said it was).
  it('claims the alert and queues its webhook deliveries in one transaction: neither without the other', async () => {
    database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'tollgate-alerts-')) });
    const deps = { database, clock: () => T0, randomBytes: (n: number) => new Uint8Array(randomBytes(n)), changes: noopChanges } as unknown as ServiceDeps;
    await database.db
      .insertInto('webhooks')
      .values({ id: 'wh_1', org_id: 'org-1', url: 'http://127.0.0.1:9/hook', event_types: '["budget.threshold_crossed"]', secret_encrypted: AesGcmCipher.forWebhookSecrets(SECRET).seal('whsec_1', webhookSecretContext('wh_1')), redacted_secret: 'whsec_…', created_at: T0 / 1000, deleted_at: null })
      .execute();
    const webhooks = new Webhooks(deps, AesGcmCipher.forWebhookSecrets(SECRET), { backoffMs: [], timeoutMs: 1000 });
    let failing = true;
    const emitter = {
      emit: async (...args: Parameters<Webhooks['emit']>) => {
        if (failing) throw new Error('the event could not be queued');
        return webhooks.emit(...args);
      },
      kick: () => webhooks.kick(),
    };
    await expect(raiseBudgetAlert(deps, emitter, alert)).rejects.toThrow('could not be queued');
    expect(await database.db.selectFrom('alerts_sent').selectAll().execute()).toEqual([]);
    failing = false;
    expect(await raiseBudgetAlert(deps, emitter, alert)).toBe(true);
    expect(await database.db.selectFrom('webhook_deliveries').select(['webhook_id', 'type', 'status']).execute()).toEqual([{ webhook_id: 'wh_1', type: 'budget.threshold_crossed', status: 'pending' }]);
    expect(await raiseBudgetAlert(deps, emitter, alert)).toBe(false);
  });
});
