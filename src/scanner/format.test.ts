import { describe, expect, it } from 'vitest';
import type { PublicFinding } from './findings.js';
import { formatJson, formatText, locationOf } from './format.js';

const base = { secondary: false, line: 3, column: 7, commit: null } as const;
const live: PublicFinding = {
  ...base,
  type: 'tollgate',
  file: 'app/.env',
  redacted: 'sk-tg-…Ab3x',
  kind: 'project',
  live: true,
  key_id: 'key_1',
  key_name: 'deploy',
  project_id: 'proj_9',
  status: 'active',
};
const unchecked: PublicFinding = { ...base, type: 'tollgate', file: 'b.txt', redacted: 'sk-tg-admin-…Zz99', kind: 'admin', live: null };
const revoked: PublicFinding = { ...live, live: false, status: 'revoked', key_name: null, project_id: null, file: 'c.txt' };
const unknown: PublicFinding = { ...base, type: 'tollgate', file: 'd.txt', redacted: 'sk-tg-…0000', kind: 'project', live: false, status: 'unknown' };
const historic: PublicFinding = { ...unchecked, file: 'old/e.txt', commit: 'abcdef0123456789abcdef0123456789abcdef01' };
const aws: PublicFinding = { ...base, type: 'aws', secondary: true, file: 'f.txt', redacted: 'AKIA…MPLE' };

describe('formatText', () => {
  it('quotes and escapes a path or key name holding control characters, as git quotes paths', () => {
    const evil: PublicFinding = { ...live, file: 'x\u001b[2J.env', key_name: 'dep\u001b]0;t\u0007loy' };
    const text = formatText({ findings: [evil], summary: { files: 1, bytes: 10, commits: 0 } });
    expect(text.split('\n')[0]).toBe('"x\\033[2J.env":3:7  Tollgate project key sk-tg-…Ab3x  LIVE (active): key_1 "dep\\033]0;t\\aloy" in proj_9');
    expect(text).not.toContain('\u001b');
  });

  it('prints one line per finding with location, kind, redacted key and status, then a summary', () => {
    const text = formatText({ findings: [live, unchecked, revoked, unknown, historic, aws], summary: { files: 12, bytes: 2048, commits: 0 } });
    expect(text).toBe(
      [
        'app/.env:3:7  Tollgate project key sk-tg-…Ab3x  LIVE (active): key_1 "deploy" in proj_9',
        'b.txt:3:7  Tollgate admin key sk-tg-admin-…Zz99  NOT CHECKED',
        'c.txt:3:7  Tollgate project key sk-tg-…Ab3x  revoked: key_1',
        'd.txt:3:7  Tollgate project key sk-tg-…0000  not a key of this server',
        'abcdef012345:old/e.txt:3:7  Tollgate admin key sk-tg-admin-…Zz99  NOT CHECKED',
        'f.txt:3:7  AWS key (other provider) AKIA…MPLE',
        'Scanned 12 files (2 KB): 6 secrets found.',
        '',
      ].join('\n'),
    );
  });

  it('names a blob outside every commit by its ref, or as an unreachable blob with its short id', () => {
    const tagged: PublicFinding = { ...unchecked, file: 'refs/tags/t:dir/a.txt', found_in: 'ref' };
    const loose: PublicFinding = { ...unchecked, file: '0123456789abcdef0123456789abcdef01234567', found_in: 'unreachable' };
    expect(formatText({ findings: [tagged, loose], summary: { files: 2, bytes: 10, commits: 1 } }).split('\n').slice(0, 2)).toEqual([
      'refs/tags/t:dir/a.txt:3:7  Tollgate admin key sk-tg-admin-…Zz99  NOT CHECKED',
      'unreachable blob 0123456789ab:3:7  Tollgate admin key sk-tg-admin-…Zz99  NOT CHECKED',
    ]);
    const inArchive: PublicFinding = { ...loose, file: `${loose.file}!/conf/a.env` };
    expect(locationOf(inArchive)).toBe('unreachable blob 0123456789ab!/conf/a.env:3:7');
  });

  it('names a key in a commit or tag object by the object', () => {
    const id = '0123456789abcdef0123456789abcdef01234567';
    const inCommit: PublicFinding = { ...unchecked, file: id, commit: id, found_in: 'commit' };
    const inTag: PublicFinding = { ...unchecked, file: id, commit: null, found_in: 'tag' };
    expect(formatText({ findings: [inCommit, inTag], summary: { files: 0, bytes: 0, commits: 1 } }).split('\n').slice(0, 2)).toEqual([
      'commit 0123456789ab:3:7  Tollgate admin key sk-tg-admin-…Zz99  NOT CHECKED',
      'tag 0123456789ab:3:7  Tollgate admin key sk-tg-admin-…Zz99  NOT CHECKED',
    ]);
  });

  it('says when nothing was found, and counts commits in history scans', () => {
    expect(formatText({ findings: [], summary: { files: 1, bytes: 10, commits: 42 } })).toBe('Scanned 1 file (10 bytes) in 42 commits: no secrets found.\n');
  });

  it('lists what reporting disabled', () => {
    const text = formatText({
      findings: [live],
      summary: { files: 1, bytes: 1, commits: 0 },
      reports: [
        { redacted: 'sk-tg-…Ab3x', label: 'true_positive', disabled: true, status: 'exposed' },
        { redacted: 'sk-tg-…Cd4y', label: 'false_positive', disabled: false, status: null },
        { redacted: 'sk-tg-…Ef5z', label: null, disabled: null, status: null },
      ],
    });
    expect(text.split('\n').slice(2, 5)).toEqual([
      'Reported sk-tg-…Ab3x as exposed: disabled.',
      'Reported sk-tg-…Cd4y as exposed: not disabled (the server did not recognise it as a key of its own).',
      'Reported sk-tg-…Ef5z as exposed: no answer.',
    ]);
  });

  it('says "disabled" only when the server disabled the key', () => {
    const text = formatText({
      findings: [live],
      summary: { files: 1, bytes: 1, commits: 0 },
      reports: [
        { redacted: 'sk-tg-…Ab3x', label: 'true_positive', disabled: false, status: 'rotated_out' },
        { redacted: 'sk-tg-…Cd4y', label: 'true_positive', disabled: false, status: 'exposed' },
        { redacted: 'sk-tg-…Ef5z', label: 'true_positive', disabled: false, status: 'revoked' },
        { redacted: 'sk-tg-…Gh6w', label: 'true_positive', disabled: false, status: null },
      ],
    });
    expect(text.split('\n').slice(2, 6)).toEqual([
      "Reported sk-tg-…Ab3x as exposed: not disabled: the secret is no longer valid (rotated out; the key's current secret was left alone).",
      'Reported sk-tg-…Cd4y as exposed: already disabled (exposed).',
      'Reported sk-tg-…Ef5z as exposed: not disabled: the secret is no longer valid (revoked).',
      'Reported sk-tg-…Gh6w as exposed: not disabled (the server recognised it but disabled nothing).',
    ]);
  });
});

describe('formatJson', () => {
  it('prints findings and a summary with the finding count', () => {
    expect(JSON.parse(formatJson({ findings: [live, aws], summary: { files: 2, bytes: 30, commits: 0 } }))).toEqual({
      findings: [live, aws],
      summary: { files: 2, bytes: 30, commits: 0, findings: 2 },
    });
  });

  it('adds reports only when there are some', () => {
    const reports = [{ redacted: 'sk-tg-…Ab3x', label: 'true_positive' as const, disabled: true, status: 'exposed' }];
    expect(JSON.parse(formatJson({ findings: [], summary: { files: 0, bytes: 0, commits: 0 }, reports })).reports).toEqual(reports);
    expect(JSON.parse(formatJson({ findings: [], summary: { files: 0, bytes: 0, commits: 0 } }))).not.toHaveProperty('reports');
  });
});
