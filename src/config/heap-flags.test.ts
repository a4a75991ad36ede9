import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { heapFlags } from './heap-flags.js';

describe('heapFlags', () => {
  it('keeps the old generation within 1.3× of what is live, unless the command line says otherwise', () => {
    expect(heapFlags([])).toEqual(['--heap-growing-percent=30']);
    expect(heapFlags(['--enable-source-maps'])).toEqual(['--heap-growing-percent=30']);
    expect(heapFlags(['--heap-growing-percent=50'])).toEqual([]);
    expect(heapFlags(['--heap_growing_percent=50'])).toEqual([]);
  });

  it('is a flag this node accepts once running (an unknown one would be ignored without a word)', () => {
    // V8 lists the flag with its default; set at run time, it is reported back as set.
    const script = `const v8 = require('node:v8'); for (const f of ${JSON.stringify(heapFlags([]))}) v8.setFlagsFromString(f); console.log('ok');`;
    const listed = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    expect(listed).toContain('--heap-growing-percent');
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
