import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from './harness/backends.js';
import { startTestServer, type TestServer } from './harness/server.js';
import { signUpOwner } from './harness/session-client.js';
import { usageEvent } from './harness/usage-event.js';

// The official `openai` npm package's audit log, usage and costs methods (client.admin.organization.auditLogs and
// .usage) end to end against Tollgate: the SDK builds each request (its query serialisation: `event_types[]=…`,
// `effective_at[gte]=…`, `group_by[]=…`) and reads the answer; audit logs are read with `for await`, across pages.

const DAY = 86_400;
const D = 1_736_121_600;

describeEachDatabase("Audit logs, usage and costs through the openai npm package's admin methods", (backend) => {
  let t: TestServer;
  let org: OpenAI['admin']['organization'];
  let project: string;
  let keyA: string;
  let keyB: string;
  beforeAll(async () => {
    t = await startTestServer(backend);
    org = new OpenAI({ adminAPIKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 }).admin.organization;
    await signUpOwner(t);
    project = (await org.projects.create({ name: 'SDK audited' })).id;
    for (let i = 0; i < 4; i++) await org.projects.update(project, { name: `SDK audited ${i}` });
    const key = async (name: string) => (await t.api('POST', `/v1/organization/projects/${project}/api_keys`, { body: { name } })).body.id as string;
    keyA = await key('SDK key A');
    keyB = await key('SDK key B');
    let n = 0;
    for (const day of [0, 1]) {
      for (const [k, cost] of [
        [keyA, 1_000_000],
        [keyB, 250_000],
      ] as const) {
        t.server.gateway.usage.record(
          usageEvent({
            id: `evt_sdk_${++n}`,
            orgId: t.orgId,
            projectId: project,
            apiKeyId: k,
            createdAtMs: (D + day * DAY + 60) * 1000,
            inputTokens: 10,
            outputTokens: 5,
            costNanoUsd: cost + day,
            serviceTier: k === keyA ? 'default' : 'flex',
          }),
        );
      }
    }
    await t.server.gateway.usage.flush();
  });
  afterAll(async () => t?.close());

  it('lists audit logs with every filter the SDK has, every page with for await', async () => {
    const all = [];
    for await (const e of org.auditLogs.list({ limit: 2 })) all.push(e);
    expect(all.length).toBeGreaterThan(6);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    const updates = [];
    for await (const e of org.auditLogs.list({ limit: 2, event_types: ['project.updated'], project_ids: [project], resource_ids: [project], actor_ids: [t.adminKeyId] })) {
      updates.push(e);
    }
    expect(updates).toHaveLength(4);
    for (const e of updates) {
      expect(e.type).toBe('project.updated');
      expect(e.project?.id).toBe(project);
      expect(e.actor?.type).toBe('api_key');
      expect(e.actor?.api_key?.id).toBe(t.adminKeyId);
    }
    const at = updates[1].effective_at;
    const ranged = [];
    for await (const e of org.auditLogs.list({ effective_at: { gte: at, lte: at }, event_types: ['project.updated'] })) ranged.push(e);
    expect(ranged.every((e) => e.effective_at === at)).toBe(true);
    expect(ranged.map((e) => e.id)).toContain(updates[1].id);
    const signIns = [];
    for await (const e of org.auditLogs.list({ actor_emails: ['OWNER@example.com'], event_types: ['login.succeeded'] })) signIns.push(e);
    expect(signIns.length).toBeGreaterThan(0);
    expect(signIns[0].actor?.session?.user?.email).toBe('owner@example.com');
    const page = await org.auditLogs.list({ limit: 2, before: all[4].id });
    expect(page.data.map((e) => e.id)).toEqual([all[2].id, all[3].id]);
    expect((await org.auditLogs.list({ tenant_only: true })).data).toEqual([]);
    const bad = await org.auditLogs.list({ limit: 500 }).catch((e) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe('limit');
  });

  it('reads costs by key and for named keys, and usage of every kind including file search and web search calls', async () => {
    const costs = await org.usage.costs({ start_time: D, end_time: D + 2 * DAY, group_by: ['api_key_id'], api_key_ids: [keyA, keyB], project_ids: [project], limit: 2 });
    expect(costs.data).toHaveLength(2);
    const byKey = Object.fromEntries(costs.data[1].results.map((r) => [(r as { api_key_id: string }).api_key_id, (r as { amount: { value: number } }).amount.value]));
    expect(byKey).toEqual({ [keyA]: 1_000_001 / 1e9, [keyB]: 250_001 / 1e9 });
    const nobody = await org.usage.costs({ start_time: D, end_time: D + 2 * DAY, api_key_ids: ['key_nobody'] });
    expect(nobody.data.map((b) => b.results)).toEqual([[], []]);
    const completions = await org.usage.completions({ start_time: D, end_time: D + 2 * DAY, group_by: ['api_key_id', 'model'], api_key_ids: [keyA], bucket_width: '1d' });
    expect(completions.data[0].results).toEqual([expect.objectContaining({ api_key_id: keyA, model: 'gpt-4o-mini', input_tokens: 10, output_tokens: 5, num_model_requests: 1 })]);
    const range = { start_time: D, end_time: D + 2 * DAY };
    for (const page of [
      await org.usage.embeddings(range),
      await org.usage.moderations(range),
      await org.usage.images(range),
      await org.usage.audioSpeeches(range),
      await org.usage.audioTranscriptions(range),
      await org.usage.vectorStores(range),
      await org.usage.codeInterpreterSessions(range),
      await org.usage.fileSearchCalls({ ...range, group_by: ['vector_store_id'], vector_store_ids: ['vs_1'] }),
      await org.usage.webSearchCalls({ ...range, group_by: ['context_level'], context_levels: ['high'] }),
    ]) {
      expect(page.object).toBe('page');
      expect(page.data.map((b) => b.results)).toEqual([[], []]);
    }
    const tiers = await org.usage.completions({ ...range, group_by: ['service_tier'], bucket_width: '1d' });
    const results = tiers.data[0].results as Array<{ service_tier?: string | null; num_model_requests?: number }>;
    expect(results.map((r) => [r.service_tier, r.num_model_requests])).toEqual([
      ['default', 1],
      ['flex', 1],
    ]);
  });
});
