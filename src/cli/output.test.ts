import { describe, expect, it } from 'vitest';
import { secretsRedacted, table, terminalSafe } from './output.js';

describe('terminalSafe', () => {
  it('keeps newlines and printable text, escapes every other control character', () => {
    expect(terminalSafe('a\nb é 東京 🚀\n')).toBe('a\nb é 東京 🚀\n');
    expect(terminalSafe('\u001b[2J\u0007\t\r\u007f\u009b\u202e\u2028\ud800')).toBe('\\033[2J\\007\\011\\015\\u007f\\u009b\\u202e\\u2028\\ud800');
  });

  it('leaves the value of JSON text exact', () => {
    const values = ['\u001b[31mred', 'a\u009bb', 'x\u202ey', 'l\u2028s', 'del\u007f', 'lone\ud800', '"quoted"\\', { k: 'v\u0085' }];
    for (const v of values) {
      const text = JSON.stringify({ v }, null, 2);
      expect(JSON.parse(terminalSafe(text))).toEqual({ v });
    }
  });
});

describe('table', () => {
  it('quotes and escapes a cell holding control characters, so a row stays one line', () => {
    const out = table([{ name: 'evil\u001b[2J\nforged', n: 1 }, { name: 'plain', n: 2 }], ['name', 'n']);
    expect(out.split('\n')).toEqual(['NAME                   N', '"evil\\033[2J\\nforged"  1', 'plain                  2', '']);
  });
});

describe('secretsRedacted', () => {
  it('redacts key look-alikes, and leaves words and paths with "sk-" inside them as they are', () => {
    const key = `sk-${'a1B2'.repeat(10)}`;
    expect(secretsRedacted(`got '${key}'`)).toBe(`got 'sk-…a1B2'`);
    expect(secretsRedacted(`unknown option '--admin-kye=${key}'`)).not.toContain(key);
    // Found by review: "risk-…" and "task-…" were cut up ("No project named 'risk-…east'").
    for (const text of ["No project named 'risk-assessment-production-east'.", 'no Tollgate data directory at /srv/task-runner-workspace-2024/data']) {
      expect(secretsRedacted(text)).toBe(text);
    }
  });
});
