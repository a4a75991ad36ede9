import { describe, expect, it } from 'vitest';
import { loadTokenizer } from './tokenizer.js';

// The gateway's encoder is built by buildEncoder straight into js-tiktoken's internal tables (tokenizer.ts), not by the
// library's constructor. These tests hold it to the rank file token by token, and to the library's own output.

describe('the o200k encoder', () => {
  it('has exactly the rank file in its tables: every token, decoded independently, at its rank, both ways', async () => {
    const { default: ranks } = await import('js-tiktoken/ranks/o200k_base');
    const { rankMap, textMap } = (await loadTokenizer()) as unknown as { rankMap: Map<string, number>; textMap: Map<number, Uint8Array> };
    let count = 0;
    const wrong: string[] = [];
    for (const line of ranks.bpe_ranks.split('\n')) {
      if (!line) continue;
      const [, first, ...tokens] = line.split(' ');
      tokens.forEach((token, i) => {
        const rank = Number(first) + i;
        const bytes = Uint8Array.from(atob(token), (c) => c.charCodeAt(0)).join(',');
        if (rankMap.get(bytes) !== rank || textMap.get(rank)?.join(',') !== bytes) wrong.push(`${rank} ${token}`);
        count++;
      });
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(count).toBeGreaterThan(199_000);
    expect(rankMap.size).toBe(count);
    expect(textMap.size).toBe(count);
  });

  it('encodes and decodes as js-tiktoken does (ids from the library itself, 1.0.21)', async () => {
    const enc = await loadTokenizer();
    const cases: Array<[string, number[]]> = [
      ['hello world', [24912, 2375]],
      ['Tollgate keys: sk-tg-…abcd', [51, 1176, 33990, 12994, 25, 1705, 2378, 70, 12, 1131, 152936]],
      ['漢字仮名交じり文 🦊 naïve café', [183591, 8134, 1467, 106, 6224, 10130, 29884, 7297, 4883, 9552, 99, 232, 153475, 737, 30469]],
      ['<|endoftext|>', [199999]],
    ];
    for (const [text, ids] of cases) {
      expect(enc.encode(text, 'all')).toEqual(ids);
      expect(enc.decode(ids)).toBe(text);
    }
  });
});
