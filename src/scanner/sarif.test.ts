import { describe, expect, it } from 'vitest';
import type { PublicFinding } from './findings.js';
import { formatSarif } from './sarif.js';

const base = { secondary: false, line: 3, column: 7, commit: null } as const;
const live: PublicFinding = { ...base, type: 'tollgate', file: 'dir with space/.env', redacted: 'sk-tg-…Ab3x', kind: 'project', live: true, key_id: 'key_1', status: 'active' };
const dead: PublicFinding = { ...live, live: false, status: 'revoked', commit: 'abcdef0123456789abcdef0123456789abcdef01' };
const github: PublicFinding = { ...base, type: 'github', secondary: true, file: '/abs/path/x.ts', redacted: 'ghp_…abcd' };

describe('formatSarif', () => {
  const log = JSON.parse(formatSarif([live, dead, github]));
  const run = log.runs[0];

  it('is a SARIF 2.1.0 log with one rule per kind of secret found', () => {
    expect(log.version).toBe('2.1.0');
    expect(log.$schema).toMatch(/sarif-schema-2\.1\.0\.json$/);
    expect(run.tool.driver.name).toBe('tollgate-scan');
    expect(run.tool.driver.rules.map((r: { id: string }) => r.id)).toEqual(['tollgate-secret', 'github-token']);
  });

  it('gives each result its rule, level, message and location', () => {
    expect(run.results.map((r: { ruleId: string; ruleIndex: number; level: string }) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
      ['tollgate-secret', 0, 'error'],
      ['tollgate-secret', 0, 'note'],
      ['github-token', 1, 'warning'],
    ]);
    expect(run.results[0].message.text).toBe('Tollgate project key sk-tg-…Ab3x  LIVE (active): key_1');
    expect(run.results[0].locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'dir%20with%20space/.env' },
      region: { startLine: 3, startColumn: 7 },
    });
    expect(run.results[2].locations[0].physicalLocation.artifactLocation.uri).toBe('file:///abs/path/x.ts');
  });

  it('records the commit of a history finding', () => {
    expect(run.results[1].properties).toEqual({ commit: dead.commit });
    expect(run.results[0]).not.toHaveProperty('properties');
  });

  it('says when a history finding is in no commit', () => {
    const loose: PublicFinding = { ...live, file: 'a'.repeat(40), found_in: 'unreachable' };
    expect(JSON.parse(formatSarif([loose])).runs[0].results[0].properties).toEqual({ found_in: 'unreachable' });
  });

  it('uses the openai, anthropic and aws rule ids', () => {
    const other = (type: PublicFinding['type']): PublicFinding => ({ ...github, type });
    const ids = JSON.parse(formatSarif([other('openai'), other('anthropic'), other('aws')])).runs[0].results.map((r: { ruleId: string }) => r.ruleId);
    expect(ids).toEqual(['openai-key', 'anthropic-key', 'aws-access-key-id']);
  });
});
