import { describe, expect, it } from 'vitest';
import { evalRunOf, modelRunsOf, runDecidingParams, runsModelGrader, storedGradersRunBy } from './model-runs.js';

describe('what a request makes the provider run', () => {
  it('finds the graders stored with an eval or a fine-tuning job that a request runs again', () => {
    const run = storedGradersRunBy('/evals/eval_1/runs');
    expect([run?.path, run?.gradersOf({ testing_criteria: [] }), run?.gradersOf({ id: 'eval_1' }), run?.gradersOf('x')]).toEqual(['/evals/eval_1', [], undefined, undefined]);
    const resume = storedGradersRunBy('/fine_tuning/jobs/ftjob-1/resume');
    const grader = { type: 'score_model' };
    expect(resume?.path).toBe('/fine_tuning/jobs/ftjob-1');
    expect(resume?.gradersOf({ method: { type: 'reinforcement', reinforcement: { grader } } })).toEqual(grader);
    expect(resume?.gradersOf({ Method: { Reinforcement: { GRADER: grader } } })).toEqual(grader);
    expect([resume?.gradersOf({ method: { type: 'supervised', supervised: {} } }), resume?.gradersOf({ hyperparameters: {} }), resume?.gradersOf(null)]).toEqual([null, null, undefined]);
    expect(() => resume?.gradersOf({ method: {}, METHOD: {} })).toThrow(/twice/);
    for (const other of ['/fine_tuning/jobs/ftjob-1/pause', '/fine_tuning/jobs/ftjob-1', '/evals/eval_1/runs/run_1', '/evals/eval_1']) expect(storedGradersRunBy(other)).toBeNull();
  });

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
    // A list of maps, a map of maps: no shape of `graders` hides one.
    expect(runsModelGrader({ type: 'multi', graders: [{ a: model }] })).toBe(true);
    expect(runsModelGrader({ type: 'multi', graders: { a: { b: [model] } } })).toBe(true);
    expect(runsModelGrader({ type: 'multi', graders: [{ a: { type: 'python' } }, { type: 'string_check' }] })).toBe(false);
    // Not a grader's member: a model grader's `type` named under another key is no grader.
    expect(runsModelGrader({ type: 'string_check', input: [{ type: 'score_model' }] })).toBe(false);
    expect(() => runsModelGrader({ type: 'string_check', Type: 'score_model' })).toThrow(/twice/);
  });
});
