import { describe, expect, it } from 'vitest';
import { estimatedAudioSeconds, reservedAudioSeconds, type FormValues, type PlanInput, planMetering } from './metering-plan.js';
import { DEFAULT_PRICES } from './pricing.js';

const input = (o: Partial<PlanInput>): PlanInput => ({
  method: 'POST',
  endpoint: '/chat/completions',
  body: null,
  form: null,
  model: null,
  bodyBytes: 0,
  prices: DEFAULT_PRICES,
  defaultPrice: null,
  ...o,
});
const form = (values: Record<string, string[]>, files: Record<string, number> = {}): FormValues => ({ values, files });

describe('metering plan', () => {
  it('bills model calls by token, priced by their model or the default', () => {
    expect(planMetering(input({ model: 'o1-pro', body: {} }))).toMatchObject({ kind: 'tokens', family: 'completions', priced: true, unmeterable: false });
    expect(planMetering(input({ endpoint: '/embeddings', model: 'text-embedding-3-small', body: {} }))).toMatchObject({ kind: 'tokens', family: 'embeddings', priced: true });
    expect(planMetering(input({ endpoint: '/responses/compact', model: 'gpt-5', body: {} }))).toMatchObject({ kind: 'tokens', priced: true });
    expect(planMetering(input({ model: 'gpt-9', body: {} }))).toMatchObject({ kind: 'tokens', priced: false, price: null });
    expect(planMetering(input({ model: null, body: {} }))).toMatchObject({ kind: 'tokens', priced: false });
    expect(planMetering(input({ model: 'gpt-9', body: {}, defaultPrice: { input: 1 } }))).toMatchObject({ priced: true, price: { input: 1 } });
    // A per-character price is no token price.
    expect(planMetering(input({ model: 'tts-1', body: {} }))).toMatchObject({ priced: false });
  });

  it("bills Anthropic's messages by token, counts tokens for free, and keeps its server tools from budgets", () => {
    expect(planMetering(input({ endpoint: '/messages', model: 'claude-sonnet-4-5-20250929', body: {} }))).toMatchObject({ kind: 'tokens', family: 'messages', priced: true, unmeterable: false });
    expect(planMetering(input({ endpoint: '/messages/count_tokens', model: 'claude-sonnet-4-5', body: {} }))).toMatchObject({ kind: 'free' });
    for (const type of ['web_search_20250305', 'code_execution_20250825', 'web_fetch_20250910']) {
      expect(planMetering(input({ endpoint: '/messages', model: 'claude-opus-4-6', body: { tools: [{ type, name: 'x' }] } })), type).toMatchObject({ kind: 'tokens', unmeterable: true });
    }
    // Client tools (run by the caller) cost only tokens.
    for (const tool of [{ name: 'get_weather', input_schema: { type: 'object' } }, { type: 'bash_20250124', name: 'bash' }, { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' }]) {
      expect(planMetering(input({ endpoint: '/messages', model: 'claude-opus-4-6', body: { tools: [tool] } })).unmeterable).toBe(false);
    }
    // MCP servers' results are input no body bounds (Anthropic's connector, OpenAI's remote MCP tool).
    expect(planMetering(input({ endpoint: '/messages', model: 'claude-opus-4-6', body: { mcp_servers: [{ type: 'url', url: 'https://mcp.example', name: 'x' }] } }))).toMatchObject({ unmeterable: true });
    expect(planMetering(input({ endpoint: '/messages', model: 'claude-opus-4-6', body: { mcp_servers: [] } })).unmeterable).toBe(false);
    expect(planMetering(input({ endpoint: '/responses', model: 'gpt-5', body: { tools: [{ type: 'mcp', server_url: 'https://mcp.example', server_label: 'x' }] } }))).toMatchObject({ unmeterable: true });
    // Regional inference and speeds Anthropic does not take cost a multiple of the rates (not modelled): kept from
    // budgets. Fast mode: see below.
    for (const extra of [{ inference_geo: 'us' }, { speed: 'turbo' }, { speed: 'fast', inference_geo: 'us' }]) {
      expect(planMetering(input({ endpoint: '/messages', model: 'claude-opus-4-6', body: extra })), JSON.stringify(extra)).toMatchObject({ kind: 'tokens', unmeterable: true, priced: true });
    }
    for (const extra of [{ speed: 'standard' }, { inference_geo: 'global' }, { speed: null }]) {
      expect(planMetering(input({ endpoint: '/messages', model: 'claude-opus-4-6', body: extra })).unmeterable, JSON.stringify(extra)).toBe(false);
    }
    // Server-side compaction and the advisor tool sample the model (or another) again, billed apart from the
    // message's counts and beyond what the body bounds: kept from budgets.
    for (const extra of [
      { context_management: { edits: [{ type: 'compact_20260112' }] } },
      { context_management: { Edits: [{ TYPE: 'compact_20260112' }] } },
      { tools: [{ type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-6' }] },
    ]) {
      expect(planMetering(input({ endpoint: '/messages', model: 'claude-sonnet-4-6', body: extra })), JSON.stringify(extra)).toMatchObject({ kind: 'tokens', unmeterable: true, priced: true });
    }
    expect(planMetering(input({ endpoint: '/messages', model: 'claude-sonnet-4-6', body: { context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] } } })).unmeterable).toBe(false);
    // Anthropic's message batches are not listed: not metered.
    expect(planMetering(input({ endpoint: '/messages/batches', model: null, body: {} }))).toMatchObject({ kind: 'unmetered' });
  });

  it("reserves Anthropic's fast mode at a model's fast rates, and keeps fast mode for a model without them from budgets", () => {
    const messages = (model: string, speed: unknown, o: Partial<PlanInput> = {}) => planMetering(input({ endpoint: '/messages', model, body: { speed }, ...o }));
    for (const model of ['claude-opus-4-6', 'claude-opus-4-7', 'claude-opus-4-8', 'claude-opus-5', 'claude-opus-4-6-20260205']) {
      expect(messages(model, 'fast'), model).toMatchObject({ kind: 'tokens', family: 'messages', speed: 'fast', unmeterable: false, priced: true });
    }
    // Fast mode on a model without fast rates here (Opus 5.5 and Fable 5.2 run it at a price not published): billed at
    // the standard rates, so not for budgets.
    for (const model of ['claude-opus-5-5', 'claude-fable-5-2', 'claude-sonnet-4-6']) {
      expect(messages(model, 'fast'), model).toMatchObject({ speed: null, unmeterable: true, priced: true });
      expect(messages(model, 'fast').family, model).toMatch(/fast mode `speed`/);
    }
    expect(messages('claude-unknown', 'fast')).toMatchObject({ speed: null, unmeterable: true, priced: false });
    // Priced by the configured default, when it has fast rates (a config's prices are the table's).
    expect(messages('claude-unknown', 'fast', { defaultPrice: { input: 1, output: 2, fast: 3 } })).toMatchObject({ speed: 'fast', unmeterable: false, priced: true });
    // Other spellings are not Anthropic's `fast`: unknown speeds, kept from budgets whatever the model.
    for (const speed of ['FAST', 'Fast', ' fast', 'fast ', 1, true, ['fast'], { speed: 'fast' }]) {
      expect(messages('claude-opus-4-6', speed), JSON.stringify(speed)).toMatchObject({ speed: null, unmeterable: true });
    }
    for (const speed of [undefined, null, 'standard']) expect(messages('claude-opus-4-6', speed), String(speed)).toMatchObject({ speed: null, unmeterable: false });
    // `speed` is Anthropic's: another endpoint's body naming it is not fast mode (and the translator refuses it).
    expect(planMetering(input({ endpoint: '/chat/completions', model: 'claude-opus-4-6', body: { speed: 'fast' } }))).toMatchObject({ speed: null, unmeterable: false });
  });

  it('reserves a tier the price has rates for at them, and keeps a dearer or unknown tier it has none for from budgets', () => {
    const chat = (model: string, service_tier: unknown, endpoint = '/chat/completions') => planMetering(input({ endpoint, model, body: { service_tier } }));
    expect(chat('gpt-5', 'priority')).toMatchObject({ kind: 'tokens', tier: 'priority', unmeterable: false, family: 'completions' });
    expect(chat('gpt-5', 'fast')).toMatchObject({ tier: 'fast', unmeterable: false });
    expect(chat('gpt-5', 'flex', '/responses')).toMatchObject({ tier: 'flex', unmeterable: false, family: 'responses' });
    expect(chat('gpt-5-2025-08-07', 'priority')).toMatchObject({ tier: 'priority', unmeterable: false });
    // The standard, and flex without flex rates (half price, billed at the standard ones): reserved at the standard rates.
    for (const tier of [undefined, null, 'auto', 'default']) expect(chat('gpt-5', tier), String(tier)).toMatchObject({ tier: null, unmeterable: false });
    expect(chat('gpt-5-pro', 'flex', '/responses')).toMatchObject({ tier: null, unmeterable: false });
    // Dearer or unknown, with no rates for it: billed at the standard rates, so not for budgets.
    for (const tier of ['scale', 'ultrafast', 'PRIORITY', 'Priority', ' priority', 'batch', 'standard_only', '', 1, true, { tier: 'priority' }, ['priority']]) {
      expect(chat('gpt-5', tier), JSON.stringify(tier)).toMatchObject({ kind: 'tokens', tier: null, unmeterable: true, priced: true });
      expect(chat('gpt-5', tier).family, JSON.stringify(tier)).toMatch(/`service_tier`/);
    }
    expect(chat('gpt-5-pro', 'priority', '/responses')).toMatchObject({ tier: null, unmeterable: true });
    expect(chat('gpt-5-nano', 'fast')).toMatchObject({ tier: null, unmeterable: true });
    expect(chat('gpt-9', 'priority')).toMatchObject({ priced: false, unmeterable: true });
    // A Claude model has no priority rates: an OpenAI client asking a Claude model for priority cannot dodge.
    expect(chat('claude-sonnet-4-6', 'priority')).toMatchObject({ unmeterable: true });
    // Anthropic's own values, on its Messages API.
    for (const tier of ['auto', 'standard_only']) expect(chat('claude-sonnet-4-6', tier, '/messages'), tier).toMatchObject({ tier: null, unmeterable: false });
    expect(chat('claude-sonnet-4-6', 'priority', '/messages')).toMatchObject({ unmeterable: true });
    // A configured price's own tier rates.
    const prices = { 'my-model': { input: 1, output: 2, priority: { input: 3, output: 6 } } };
    expect(planMetering(input({ model: 'my-model', prices, body: { service_tier: 'priority' } }))).toMatchObject({ tier: 'priority', unmeterable: false });
    expect(planMetering(input({ model: 'other', prices, defaultPrice: prices['my-model'], body: { service_tier: 'priority' } }))).toMatchObject({ tier: 'priority', unmeterable: false });
  });

  it('names the member that keeps a model call from budgets, for the refusal to name (param)', () => {
    const plan = (body: Record<string, unknown>, o: Partial<PlanInput> = {}) => planMetering(input({ model: 'gpt-5', body, ...o }));
    expect(plan({ service_tier: 'scale' })).toMatchObject({ unmeterable: true, param: 'service_tier' });
    expect(plan({ service_tier: 'fast' }, { model: 'gpt-5-nano' })).toMatchObject({ unmeterable: true, param: 'service_tier' });
    expect(plan({ background: true }, { endpoint: '/responses' })).toMatchObject({ unmeterable: true, param: 'background' });
    expect(plan({ prompt: { id: 'pmpt_1' } }, { endpoint: '/responses' })).toMatchObject({ unmeterable: true, param: 'prompt' });
    expect(plan({ tools: [{ type: 'web_search' }] }, { endpoint: '/responses' })).toMatchObject({ unmeterable: true, param: 'tools' });
    expect(plan({ web_search_options: {} })).toMatchObject({ unmeterable: true, param: 'web_search_options' });
    expect(plan({}, { model: 'gpt-4o-search-preview' })).toMatchObject({ unmeterable: true, param: 'model' });
    expect(plan({ mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] }, { endpoint: '/messages', model: 'claude-sonnet-4-6' })).toMatchObject({ unmeterable: true, param: 'mcp_servers' });
    expect(plan({ speed: 'fast' }, { endpoint: '/messages', model: 'claude-sonnet-4-6' })).toMatchObject({ unmeterable: true, param: 'speed' });
    expect(plan({ inference_geo: 'us' }, { endpoint: '/messages', model: 'claude-sonnet-4-6' })).toMatchObject({ unmeterable: true, param: 'inference_geo' });
    // What is metered names nothing, nor does an endpoint Tollgate cannot meter at all.
    expect(plan({ service_tier: 'priority' })).toMatchObject({ unmeterable: false, param: null });
    expect(planMetering(input({ endpoint: '/batches', body: {} }))).toMatchObject({ unmeterable: true, param: null });
  });

  it('lets a model priced at nothing run at any tier or speed under a budget: a free model is free at all of them', () => {
    // The built-in echo model (docs/metering.md): its priority tier costs what its standard one does, nothing.
    for (const service_tier of ['priority', 'fast', 'scale', 'ultrafast', 'flex']) {
      const p = planMetering(input({ model: 'tollgate-echo', body: { service_tier } }));
      expect(p, service_tier).toMatchObject({ kind: 'tokens', priced: true, unmeterable: false, param: null });
    }
    const free = { 'local-llama': { input: 0, output: 0 } };
    expect(planMetering(input({ model: 'local-llama', prices: free, body: { service_tier: 'priority' } }))).toMatchObject({ unmeterable: false });
    expect(planMetering(input({ endpoint: '/messages', model: 'local-llama', prices: free, body: { speed: 'fast', inference_geo: 'us' } }))).toMatchObject({ unmeterable: false });
    // Free at the standard rates only is not free: a dearer tier's rates are its own.
    const tiered = { 'half-free': { input: 0, output: 0, priority: { input: 1, output: 2 } } };
    expect(planMetering(input({ model: 'half-free', prices: tiered, body: { service_tier: 'priority' } }))).toMatchObject({ tier: 'priority', unmeterable: false });
    expect(planMetering(input({ model: 'half-free', prices: tiered, body: { service_tier: 'scale' } }))).toMatchObject({ unmeterable: true, param: 'service_tier' });
    // Hosted tools bill per call whatever the model's token rates.
    expect(planMetering(input({ endpoint: '/responses', model: 'tollgate-echo', body: { tools: [{ type: 'web_search' }] } }))).toMatchObject({ unmeterable: true });
  });

  it('will not let hosted tools (billed apart from tokens) past a budget, and bills them as tokens otherwise', () => {
    for (const body of [
      { tools: [{ type: 'function', name: 'f' }, { type: 'web_search_preview' }] },
      { tools: [{ type: 'web_search' }] },
      { tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] },
      { tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] },
      { tools: [{ type: 'image_generation' }] },
      { web_search_options: {} },
    ]) {
      expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body })), JSON.stringify(body)).toMatchObject({ kind: 'tokens', unmeterable: true, priced: true });
    }
    expect(planMetering(input({ model: 'gpt-4o', body: { tools: [{ type: 'function', function: { name: 'f' } }, { type: 'custom' }, null, 'x'] } }))).toMatchObject({ unmeterable: false });
  });

  it("will not let OpenAI's search models (a web search fee on every call) past a budget", () => {
    for (const model of ['gpt-4o-search-preview', 'gpt-4o-mini-search-preview', 'gpt-4o-search-preview-2025-03-11', 'gpt-5-search-api', 'gpt-5-search-api-2025-10-14']) {
      expect(planMetering(input({ model, body: { messages: [{ role: 'user', content: 'news?' }] } })), model).toMatchObject({ kind: 'tokens', unmeterable: true });
    }
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'my-search-model']) expect(planMetering(input({ model, body: { messages: [] } })), model).toMatchObject({ unmeterable: false });
  });

  it('will not let a response from a stored prompt (whose template may hold hosted tools) past a budget', () => {
    for (const prompt of [{ id: 'pmpt_1' }, { id: 'pmpt_1', version: '2', variables: { x: 'y' } }, 'pmpt_1', {}]) {
      const plan = planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { prompt, input: 'hi' } }));
      expect(plan, JSON.stringify(prompt)).toMatchObject({ kind: 'tokens', unmeterable: true, priced: true });
      expect(plan.family).toContain('stored prompt');
    }
    // No prompt, or an explicit null (OpenAI's default): metered as any response; `prompt` means nothing to chat.
    for (const body of [{ input: 'hi' }, { input: 'hi', prompt: null }]) expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body }))).toMatchObject({ unmeterable: false });
    expect(planMetering(input({ model: 'gpt-4o', body: { messages: [], prompt: { id: 'x' } } }))).toMatchObject({ unmeterable: false });
  });

  it("classifies every tool of OpenAI's Tool union and Anthropic's tools, and takes one it does not know for a hosted one", () => {
    const responses = (tool: unknown) => planMetering(input({ endpoint: '/responses', model: 'gpt-4o-mini', body: { tools: [tool] } }));
    const messages = (tool: unknown) => planMetering(input({ endpoint: '/messages', model: 'claude-sonnet-4-6', body: { tools: [tool] } }));
    // Run by the provider: a container it creates (billed per container, outside usage) or is given, its servers.
    for (const tool of [
      { type: 'shell', environment: { type: 'container_auto' } },
      { type: 'shell', environment: { type: 'container_reference', container_id: 'cntr_1' } },
      { type: 'shell' },
      { type: 'shell', environment: null },
      { type: 'programmatic_tool_calling' },
      { type: 'tool_search' },
      { type: 'tool_search', execution: 'server' },
      { type: 'web_search_2025_08_26' },
      { type: 'web_search_preview_2025_03_11' },
      { type: 'namespace', name: 'crm', description: 'd', tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] },
      { type: 'hosted_thing_2027' },
      { type: 42 },
    ]) {
      expect(responses(tool), JSON.stringify(tool)).toMatchObject({ kind: 'tokens', unmeterable: true });
    }
    for (const tool of [{ type: 'mcp_toolset', mcp_server_name: 'x' }, { type: 'tool_search_tool_regex_20251119', name: 'tool_search' }, { type: 'tool_search_tool_bm25_20251119', name: 't' }, { type: 'new_server_tool_20270101', name: 'n' }]) {
      expect(messages(tool), JSON.stringify(tool)).toMatchObject({ kind: 'tokens', unmeterable: true });
    }
    // Run by the caller: their results come back as input of a later request.
    for (const tool of [
      { type: 'function', name: 'f' },
      { type: 'custom', name: 'c' },
      { type: 'computer' },
      { type: 'computer_use_preview', environment: 'browser', display_width: 1, display_height: 1 },
      { type: 'local_shell' },
      { type: 'apply_patch' },
      { type: 'shell', environment: { type: 'local' } },
      { type: 'tool_search', execution: 'client' },
      { type: 'namespace', name: 'crm', description: 'd', tools: [{ type: 'function', name: 'f' }, { type: 'custom', name: 'c' }] },
    ]) {
      expect(responses(tool), JSON.stringify(tool)).toMatchObject({ kind: 'tokens', unmeterable: false });
    }
    // Their members in another case are what an upstream folding names reads: `Type`, `Environment`, `Execution`, a
    // namespace's `Tools` (read in lower case only, a hosted tool was taken for a client one, free to a spend-limited key).
    for (const tool of [
      { Type: 'web_search' },
      { TYPE: 'code_interpreter', container: { type: 'auto' } },
      { Type: 'shell', environment: { type: 'container_auto' } },
      { Type: 'shell', Environment: { Type: 'container_auto' } },
      { type: 'shell', ENVIRONMENT: { type: 'container_reference', container_id: 'cntr_1' } },
      { type: 'tool_search', Execution: 'server' },
      { type: 'namespace', name: 'crm', Tools: [{ type: 'function', name: 'f' }, { Type: 'web_search' }] },
    ]) {
      expect(responses(tool), JSON.stringify(tool)).toMatchObject({ kind: 'tokens', unmeterable: true });
    }
    expect(messages({ Type: 'web_search_20250305', name: 'web_search' })).toMatchObject({ unmeterable: true });
    for (const tool of [{ Type: 'shell', Environment: { TYPE: 'local' } }, { type: 'tool_search', EXECUTION: 'client' }, { Type: 'function', name: 'f' }]) {
      expect(responses(tool), JSON.stringify(tool)).toMatchObject({ kind: 'tokens', unmeterable: false });
    }
    // Two spellings of one: which an upstream takes cannot be known, refused 400 naming it.
    for (const [tool, param] of [
      [{ type: 'function', Type: 'web_search' }, 'type'],
      [{ type: 'shell', environment: { type: 'local' }, Environment: { type: 'container_auto' } }, 'environment'],
      [{ type: 'shell', environment: { type: 'local', Type: 'container_auto' } }, 'type'],
      [{ type: 'tool_search', execution: 'client', Execution: 'server' }, 'execution'],
    ] as const) {
      expect(() => responses(tool), JSON.stringify(tool)).toThrow(expect.objectContaining({ status: 400, code: 'invalid_value', param }));
    }
    expect(() => planMetering(input({ endpoint: '/threads/thread_1/messages', body: { attachments: [{ tools: [], Tools: [{ type: 'file_search' }] }] } }))).toThrow(
      expect.objectContaining({ status: 400, param: 'tools' }),
    );
    for (const tool of [{ name: 'n', input_schema: {} }, { type: null, name: 'n', input_schema: {} }, { type: 'custom', name: 'n', input_schema: {} }, { type: 'computer_20250124', name: 'computer' }, { type: 'memory_20250818', name: 'memory' }, { type: 'text_editor_20250429', name: 't' }]) {
      expect(messages(tool), JSON.stringify(tool)).toMatchObject({ kind: 'tokens', unmeterable: false });
    }
  });

  it('takes any background that is not absent or false for a background response; streamed, billed by its usage but not for budgets', () => {
    for (const background of [true, 'true', 1, {}]) {
      expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { background } })), String(background)).toMatchObject({ kind: 'unmetered', deferred: true, unmeterable: true });
    }
    for (const background of [false, null, undefined]) {
      expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { background } }))).toMatchObject({ kind: 'tokens', deferred: false });
    }
    for (const background of [true, 'true', 1]) {
      expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { background, stream: true } }))).toMatchObject({ kind: 'tokens', deferred: false, unmeterable: true, family: 'background responses' });
    }
    expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { background: false, stream: true } }))).toMatchObject({ kind: 'tokens', unmeterable: false });
    // A stream asked for as a server that coerces types reads it is a stream too (planned as not streamed, it went unbilled).
    for (const stream of ['true', 'TRUE', ' yes ', 'on', '1', 1, 't', 'Y']) {
      expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { background: true, stream } })), JSON.stringify(stream)).toMatchObject({ kind: 'tokens', deferred: false, unmeterable: true });
    }
    for (const stream of [false, 'false', 0, '0', 'no', null, {}]) {
      expect(planMetering(input({ endpoint: '/responses', model: 'gpt-4o', body: { background: true, stream } })), JSON.stringify(stream)).toMatchObject({ kind: 'unmetered', deferred: true });
    }
  });

  it('lets reads, deletes and free posts through, and names what it cannot meter', () => {
    expect(planMetering(input({ method: 'GET', endpoint: '/files' }))).toMatchObject({ kind: 'free', unmeterable: false });
    expect(planMetering(input({ method: 'DELETE', endpoint: '/files/file_1' }))).toMatchObject({ kind: 'free' });
    expect(planMetering(input({ method: 'GET', endpoint: '/responses/resp_1' }))).toMatchObject({ kind: 'retrieval' });
    expect(planMetering(input({ method: 'GET', endpoint: '/responses/resp_1/input_items' }))).toMatchObject({ kind: 'free' });
    for (const endpoint of ['/files', '/uploads', '/uploads/u/parts', '/moderations', '/batches/b/cancel', '/threads', '/threads/t/messages', '/assistants', '/chat/completions/c', '/responses/input_tokens']) {
      expect(planMetering(input({ endpoint })).kind, endpoint).toBe('free');
    }
    const families: Record<string, string> = {
      '/batches': 'batches',
      '/fine_tuning/jobs': 'fine-tuning',
      '/fine_tuning/jobs/j/resume': 'fine-tuning',
      '/threads/runs': 'assistants runs',
      '/threads/t/runs': 'assistants runs',
      '/threads/t/runs/r/submit_tool_outputs': 'assistants runs',
      '/vector_stores': 'vector stores',
      '/realtime/client_secrets': 'realtime',
      '/videos': 'videos',
      '/containers': 'containers',
      '/evals/e/runs': 'evals',
      '/something/new': '/something/new',
    };
    for (const [endpoint, family] of Object.entries(families)) {
      expect(planMetering(input({ endpoint })), endpoint).toMatchObject({ kind: 'unmetered', family, unmeterable: true });
    }
    expect(planMetering(input({ method: 'PATCH', endpoint: '/files/f' }))).toMatchObject({ kind: 'unmetered' });
  });

  it('keeps from budgets an assistant, thread or message that makes the provider create or fill a vector store', () => {
    const post = (endpoint: string, body: Record<string, unknown> | null, bodyBytes = 2) => planMetering(input({ endpoint, body, bodyBytes }));
    const vs = { file_search: { vector_stores: [{ file_ids: ['file-1'] }] } };
    const searched = [{ file_id: 'file-1', tools: [{ type: 'file_search' }] }];
    for (const [endpoint, body] of [
      ['/assistants', { model: 'gpt-4o-mini', tools: [{ type: 'file_search' }], tool_resources: vs }],
      ['/assistants/asst_1', { tool_resources: vs }],
      ['/assistants', { model: 'gpt-4o-mini', tool_resources: { file_search: { vector_stores: [{ file_ids: [] }] } } }],
      ['/threads', { tool_resources: vs }],
      ['/threads/thread_1', { tool_resources: vs }],
      ['/threads', { messages: [{ role: 'user', content: 'x', attachments: searched }] }],
      ['/threads/thread_1/messages', { role: 'user', content: 'x', attachments: searched }],
      ['/threads/thread_1/messages', { role: 'user', content: 'x', attachments: [{ file_id: 'file-1', tools: [{ type: 'code_interpreter' }, { type: 'file_search' }] }] }],
      // Another case of a name an upstream may fold; a tool it does not know.
      ['/threads', { TOOL_RESOURCES: { File_Search: { Vector_Stores: [{}] } } }],
      ['/threads/thread_1/messages', { role: 'user', content: 'x', Attachments: [{ file_id: 'file-1', tools: [{ type: 'new_tool' }] }] }],
      // An attachment's tools, and their type, in another case (they were read in lower case only, and were free).
      ['/threads/thread_1/messages', { role: 'user', content: 'x', attachments: [{ file_id: 'file-1', Tools: [{ type: 'file_search' }] }] }],
      ['/threads', { messages: [{ role: 'user', content: 'x', attachments: [{ file_id: 'file-1', TOOLS: [{ Type: 'file_search' }] }] }] }],
      ['/threads/thread_1/messages', { role: 'user', content: 'x', attachments: [{ file_id: 'file-1', tools: [{ TYPE: 'code_interpreter' }, { Type: 'file_search' }] }] }],
    ] as const) {
      expect(post(endpoint, body), `${endpoint} ${JSON.stringify(body)}`).toMatchObject({ kind: 'unmetered', unmeterable: true });
    }
    // A body of these that is not a JSON object cannot be read for it.
    expect(post('/threads/thread_1/messages', null, 40)).toMatchObject({ kind: 'unmetered', unmeterable: true });
    for (const [endpoint, body] of [
      ['/assistants', { model: 'gpt-4o-mini', tools: [{ type: 'file_search' }], tool_resources: { file_search: { vector_store_ids: ['vs_1'] } } }],
      ['/assistants', { model: 'gpt-4o-mini', tool_resources: { code_interpreter: { file_ids: ['file-1'] }, file_search: { vector_stores: [] } } }],
      ['/threads', { messages: [{ role: 'user', content: 'x', attachments: [{ file_id: 'file-1', tools: [{ type: 'code_interpreter' }] }] }] }],
      ['/threads/thread_1/messages', { role: 'user', content: 'x', attachments: [{ file_id: 'file-1' }], metadata: { vector_stores: 'x' } }],
      ['/threads/thread_1/messages', { role: 'user', content: 'x', attachments: [{ file_id: 'file-1', Tools: [{ Type: 'code_interpreter' }] }] }],
      ['/threads/thread_1/messages/msg_1', { metadata: { a: 'b' } }],
      ['/threads', null],
    ] as const) {
      expect(post(endpoint, body, body === null ? 0 : 2), `${endpoint} ${JSON.stringify(body)}`).toMatchObject({ kind: 'free', unmeterable: false });
    }
    // Uploads are multipart, and free.
    expect(post('/files', null, 400)).toMatchObject({ kind: 'free' });
  });

  it('prices DALL·E per image of a known quality and size, and nothing it cannot tell', () => {
    const img = (model: string | null, body: Record<string, unknown> | null, f: FormValues | null = null) =>
      planMetering(input({ endpoint: '/images/generations', model, body, form: f }));
    expect(img('dall-e-3', { quality: 'hd', size: '1792x1024' })).toMatchObject({ kind: 'image', priced: true, unitNano: 120_000_000, estimateNano: 120_000_000 });
    expect(img('dall-e-3', {})).toMatchObject({ priced: true, unitNano: 40_000_000 });
    // auto quality: the dearest.
    expect(img('dall-e-3', { quality: 'auto' })).toMatchObject({ priced: true, unitNano: 80_000_000 });
    expect(img('dall-e-2', { n: 4, size: '512x512' })).toMatchObject({ priced: true, estimateNano: 4 * 18_000_000 });
    for (const body of [{ size: '512x512' }, { quality: 'HD' }, { n: 0 }, { n: 11 }, { n: 1.5 }, { n: '2x' }]) {
      expect(img('dall-e-3', body).priced, JSON.stringify(body)).toBe(false);
    }
    // A count sent as a string is counted (an upstream may read it as one).
    expect(img('dall-e-2', { n: '2' }).estimateNano).toBe(2 * 20_000_000);
    expect(img(null, { prompt: 'x' }).priced).toBe(false);
    expect(img('dall-e-2', null, form({ n: ['3'], size: ['256x256'] })).estimateNano).toBe(3 * 16_000_000);
    // A repeated field could be read either way upstream: not priced.
    expect(img('dall-e-2', null, form({ n: ['1', '10'] })).priced).toBe(false);
    expect(img('dall-e-2', null, null).priced).toBe(false);
  });

  it('estimates GPT Image by its output tokens, erring high for auto', () => {
    const p = planMetering(input({ endpoint: '/images/generations', model: 'gpt-image-1', body: { quality: 'high', size: '1024x1024', prompt: 'abcd' } }));
    // The prompt at a token per UTF-8 byte (4 bytes: 4 tokens at most).
    expect(p).toMatchObject({ priced: true, estimateNano: 4160 * 40_000 + 4 * 5000 });
    const auto = planMetering(input({ endpoint: '/images/generations', model: 'gpt-image-1', body: { prompt: 'abcd', n: 2 } }));
    expect(auto.estimateNano).toBe(2 * 6240 * 40_000 + 4 * 5000);
    const edit = planMetering(input({ endpoint: '/images/edits', model: 'gpt-image-1', form: form({ quality: ['low'], size: ['1024x1024'], prompt: ['abcd'] }, { image: 2 }) }));
    expect(edit.estimateNano).toBe(272 * 40_000 + 4 * 5000 + 2 * 6240 * 10_000);
  });

  it('bounds a GPT Image prompt by its bytes, and reserves the partial images of a stream', () => {
    // 'ꙮ' is 3 tokens a character in o200k and 3 UTF-8 bytes: a quarter of its length fell 12× short (a review).
    const wide = planMetering(input({ endpoint: '/images/generations', model: 'gpt-image-1', body: { quality: 'low', size: '1024x1024', prompt: 'ꙮ'.repeat(1000) } }));
    expect(wide.estimateNano).toBe(272 * 40_000 + 3000 * 5000);
    // 100 image tokens per partial image, per image asked for.
    const partial = planMetering(input({ endpoint: '/images/generations', model: 'gpt-image-1', body: { quality: 'low', size: '1024x1024', prompt: 'a', n: 2, partial_images: 3, stream: true } }));
    expect(partial.estimateNano).toBe(2 * (272 + 300) * 40_000 + 1 * 5000);
  });

  it('prices speech by character (code points) and refuses to guess token-priced speech', () => {
    expect(planMetering(input({ endpoint: '/audio/speech', model: 'tts-1', body: { input: 'a😀b' } }))).toMatchObject({ priced: true, units: 3, estimateNano: 3 * 15_000 });
    expect(planMetering(input({ endpoint: '/audio/speech', model: 'gpt-4o-mini-tts', body: { input: 'hi' } }))).toMatchObject({ priced: false, units: 2 });
  });

  it('estimates a transcription from its size, and will not let one that reports no duration past a budget', () => {
    expect(estimatedAudioSeconds(0)).toBe(1);
    expect(estimatedAudioSeconds(2_000_001)).toBe(1001);
    // Reserved, for an answer that reports its seconds: Opus's 6 kbit/s, 20 KB holding 27 s.
    expect(reservedAudioSeconds(20_000)).toBeGreaterThanOrEqual(27);
    expect(reservedAudioSeconds(0)).toBe(1);
    const t = (values: Record<string, string[]>, model = 'whisper-1') => planMetering(input({ endpoint: '/audio/transcriptions', model, form: form(values), bodyBytes: 20_000 }));
    // Reserved at 6 kbit/s (27 s of 20,000 bytes) when the answer reports its seconds, billed at 16 kbit/s (10 s) when not.
    expect(t({})).toMatchObject({ kind: 'transcription', priced: true, unmeterable: false, estimateNano: 27 * 100_000 });
    expect(t({ response_format: ['text'] })).toMatchObject({ estimateNano: 10 * 100_000 });
    expect(t({ response_format: ['verbose_json'] })).toMatchObject({ unmeterable: false });
    for (const f of [['text'], ['srt'], ['vtt'], ['json', 'text']]) expect(t({ response_format: f }), f.join()).toMatchObject({ unmeterable: true, param: 'response_format' });
    expect(t({}, 'gpt-4o-transcribe')).toMatchObject({ priced: true, estimateNano: 27 * (20 * 6000 + 10 * 10_000) });
    expect(t({}, 'some-asr')).toMatchObject({ priced: false });
  });

  it("takes a translation's default json for a format that reports no duration (only verbose_json does)", () => {
    const t = (endpoint: string, values: Record<string, string[]>) => planMetering(input({ endpoint, model: 'whisper-1', form: form(values), bodyBytes: 20_000 }));
    expect(t('/audio/translations', {})).toMatchObject({ kind: 'transcription', unmeterable: true });
    expect(t('/audio/translations', { response_format: ['json'] })).toMatchObject({ unmeterable: true, param: 'response_format' });
    expect(t('/audio/translations', { response_format: ['verbose_json'] })).toMatchObject({ unmeterable: false });
    // Transcriptions report their usage in json (OpenAI's default) as before.
    expect(t('/audio/transcriptions', {})).toMatchObject({ unmeterable: false });
  });

  it('rounds a price per character or per minute once for the whole request, not per unit', () => {
    const prices = { ...DEFAULT_PRICES, 'my-tts': { input: 0, characters: 15.0005 }, 'my-asr': { input: 0, minutes: 0.0035 } };
    // $15.0005 per million characters: a million of them cost $15.0005 (per character rounding made it $15.001).
    expect(planMetering(input({ endpoint: '/audio/speech', model: 'my-tts', prices, body: { input: 'x'.repeat(1_000_000) } })).estimateNano).toBe(15_000_500_000);
    // $0.0035 a minute: 60 s of audio (45,000 bytes at 6 kbit/s) cost $0.0035.
    expect(planMetering(input({ endpoint: '/audio/transcriptions', model: 'my-asr', prices, form: form({}), bodyBytes: 45_000 })).estimateNano).toBe(3_500_000);
  });
});
