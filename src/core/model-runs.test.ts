import { describe, expect, it } from 'vitest';
import { evalRunOf, modelRunsOf, runDecidingParams, runsModelGrader } from './model-runs.js';

describe('what a request makes the provider run', () => {
  it('names the body members that decide what runs, which the query string may not name', () => {
    expect(runDecidingParams('/batches')).toEqual(['endpoint']);
    expect(runDecidingParams('/evals/eval_1/runs')).toEqual(['data_source']);
    expect(runDecidingParams('/fine_tuning/alpha/graders/run')).toEqual(['grader']);
    expect(runDecidingParams('/fine_tuning/jobs')).toEqual(['method']);
    expect(runDecidingParams('/chat/completions')).toEqual([]);
  });

  it('reads an eval run’s data source, and takes a body it cannot read to run anything', () => {
    expect(evalRunOf('/evals/eval_1/runs')).toBe('eval_1');
    expect(evalRunOf('/evals/eval_1/runs/run_1')).toBeNull();
    expect(modelRunsOf('/evals/eval_1/runs', { data_source: { type: 'completions' } }, true)).toEqual(['chat.completions']);
    expect(modelRunsOf('/evals/eval_1/runs', { data_source: { type: 'responses' } }, true)).toEqual(['responses']);
    expect(modelRunsOf('/evals/eval_1/runs', { data_source: { type: 'jsonl' } }, true)).toEqual([]);
    expect(modelRunsOf('/evals/eval_1/runs', { data_source: 'completions' }, true)).toEqual(['chat.completions', 'responses']);
    // A form body (no JSON object): what it runs cannot be read.
    expect(modelRunsOf('/evals/eval_1/runs', null, true)).toEqual(['chat.completions', 'responses']);
    expect(modelRunsOf('/evals/eval_1/runs', null, false)).toEqual([]);
    expect(modelRunsOf('/fine_tuning/alpha/graders/run', null, true)).toEqual(['chat.completions']);
    expect(modelRunsOf('/chat/completions', { model: 'x' }, true)).toEqual([]);
  });

  it('finds a model grader in a multi grader, read as one grader or a map or list of them, in any case', () => {
    const model = { type: 'label_model', model: 'gpt-4o-mini' };
    expect(runsModelGrader(model)).toBe(true);
    expect(runsModelGrader({ type: 'string_check' })).toBe(false);
    expect(runsModelGrader({ type: 'multi', graders: { a: { type: 'python' }, b: model } })).toBe(true);
    expect(runsModelGrader({ type: 'multi', graders: [{ type: 'multi', graders: model }] })).toBe(true);
    expect(runsModelGrader({ TYPE: 'multi', Graders: { a: { Type: 'score_model' } } })).toBe(true);
    // Not a grader's member: a model grader's `type` named under another key is no grader.
    expect(runsModelGrader({ type: 'string_check', input: [{ type: 'score_model' }] })).toBe(false);
    expect(() => runsModelGrader({ type: 'string_check', Type: 'score_model' })).toThrow(/twice/);
  });
});
