import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_EXPOSED_URL_LENGTH } from '../core/exposure-report.js';
import { generateSecret } from '../core/key-format.js';
import type { Finding } from './findings.js';
import { reportUrl, shortenUrl } from './report-url.js';

const finding = (file: string, extra: Partial<Finding> = {}): Finding => ({
  type: 'tollgate',
  secondary: false,
  secret: generateSecret('project', randomBytes),
  kind: 'project',
  file,
  line: 7,
  column: 1,
  commit: null,
  ...extra,
});

describe('reportUrl', () => {
  it('names the file and line, or the commit, path and line in a repository', () => {
    expect(reportUrl(finding('a b.env'), '.', false)).toBe(`${pathToFileURL(resolve('a b.env')).href}#L7`);
    expect(reportUrl(finding('conf/a b.env', { commit: 'c0ffee' }), 'repo', true)).toBe(`${pathToFileURL(resolve('repo')).href}#c0ffee:conf/a%20b.env:7`);
    expect(reportUrl(finding('x', { line: 0, column: 0, inName: true }), '.', false)).toBe(pathToFileURL(resolve('x')).href);
  });

  // Review finding: the server refuses a url past 2,048 characters, and with it the whole batch of 100 reports.
  it('is never longer than the server takes: the middle of a long path gives way, its start, file name and line stay', () => {
    const deep = Array.from({ length: 12 }, (_, i) => `${i}`.padEnd(200, 'd')).join('/');
    for (const [f, inRepository] of [
      [finding(`/${deep}/app.env`), false],
      [finding(`${deep}/app.env`, { commit: 'c0ffee' }), true],
      [finding(`/${deep.replaceAll('d', 'é')}/\u{1F511} key.env`), false],
      [finding(`/${'%'.repeat(3000)}/x.env`), false],
    ] as const) {
      const url = reportUrl(f, '/repo', inRepository);
      expect(url.length).toBeLessThanOrEqual(MAX_EXPOSED_URL_LENGTH);
      expect(url.length).toBeGreaterThan(MAX_EXPOSED_URL_LENGTH - 16);
      expect(url).toContain('%E2%80%A6'); // …
      expect(url.startsWith(inRepository ? 'file:///repo#c0ffee:0ddd' : 'file:///')).toBe(true);
      expect(url).toMatch(/(x|app|key)\.env(#L7|:7)$/);
      // No percent escape is cut in two.
      expect(() => decodeURI(url)).not.toThrow();
    }
  });
});

describe('shortenUrl', () => {
  it('leaves a url that fits as it is', () => {
    expect(shortenUrl('file:///a#L1', 20)).toBe('file:///a#L1');
  });

  it('never cuts a percent escape, whatever the length asked for', () => {
    const url = `file:///${'%C3%A9'.repeat(100)}#L1`;
    for (let max = 30; max < url.length; max++) {
      const short = shortenUrl(url, max);
      expect(short.length).toBeLessThanOrEqual(max);
      expect(() => decodeURI(short)).not.toThrow();
    }
  });
});
