import { describe, expect, it } from 'vitest';
import { componentProblems, contractProblems, operationPath, specAvailable } from './harness/openapi-contract.js';

// The contract harness itself: it must find contradictions, not only pass (a checker that checks nothing passes all).
describe.runIf(specAvailable() || process.env.CI === 'true')('OpenAPI contract harness', () => {
  it('maps paths to the most specific template of the spec', () => {
    expect(operationPath('/organization/projects/proj_1')).toBe('/organization/projects/{project_id}');
    expect(operationPath('/organization/projects/proj_1/api_keys/key_1')).toBe('/organization/projects/{project_id}/api_keys/{api_key_id}');
    expect(operationPath('/organization/nothing/here/at/all')).toBeNull();
  });

  it('passes a conforming answer and reports each contradiction of a wrong one', () => {
    const project = { id: 'proj_1', object: 'organization.project', name: 'x', created_at: 1, archived_at: null, status: 'active' };
    expect(contractProblems('GET', '/organization/projects/proj_1', 200, project)).toEqual([]);
    const wrong = contractProblems('GET', '/organization/projects/proj_1', 200, { ...project, object: 'project', created_at: 'yesterday' });
    expect(wrong.join('\n')).toMatch(/object/);
    expect(wrong.join('\n')).toMatch(/created_at/);
  });

  it("reads OpenAPI 3.0's nullable as 'or null' (beside an enum or a $ref), and checks stream events against their own type's schema", () => {
    const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: null }], usage: null };
    expect(componentProblems('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
    const bad = componentProblems('CreateChatCompletionStreamResponse', { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: 'bored' }], usage: 5 });
    expect(bad.join('\n')).toMatch(/finish_reason/);
    expect(bad.join('\n')).toMatch(/usage/);
    const delta = { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'x', sequence_number: 1, logprobs: [] };
    expect(componentProblems('ResponseStreamEvent', delta)).toEqual([]);
    const { sequence_number: _, ...unnumbered } = delta;
    expect(componentProblems('ResponseStreamEvent', unnumbered)).toEqual([expect.stringContaining('sequence_number')]);
    expect(() => componentProblems('NoSuchSchema', {})).toThrow(/no schema/);
  });

  it('checks errors against the spec error shape, and refuses to check an operation the spec lacks', () => {
    expect(contractProblems('GET', '/organization/projects/x', 404, { error: { message: 'm', type: 't', param: null, code: null } })).toEqual([]);
    expect(contractProblems('GET', '/organization/projects/x', 404, { message: 'Not found' }).length).toBeGreaterThan(0);
    expect(() => contractProblems('GET', '/organization/nothing/here/at/all', 200, {})).toThrow(/no operation/);
  });
});
