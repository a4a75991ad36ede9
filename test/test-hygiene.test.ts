import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// vitest.config.ts runs test files one after the other on one module graph per worker (isolate: false), which halves
// the suite's CPU. The price: whatever a file changes in the process outlives it into the next file. So no test file
// (nor the harness) may change process-wide state that the next file would inherit: process.env, the globals, fake
// timers and module mocks. A test that needs a different environment gives it to the server or child it starts
// (startTestServer's env, a child process's env).

const ROOTS = [join(import.meta.dirname), join(import.meta.dirname, '..', 'src')];

const PROCESS_WIDE: Array<[RegExp, string]> = [
  [/\bprocess\.env(\.\w+|\[[^\]]+\])\s*(=(?!=)|\+=|\?\?=|\|\|=)/, 'assigns process.env'],
  [/\bdelete\s+process\.env\b/, 'deletes from process.env'],
  [/\bObject\.assign\(\s*process\.env\b/, 'assigns process.env'],
  [/\bvi\.(useFakeTimers|setSystemTime|stubGlobal|stubEnv|mock|doMock|spyOn)\b/, 'changes process-wide state through vi'],
  [/\bglobalThis\.\w+\s*=(?!=)/, 'assigns a global'],
  [/\b(Date|Math|JSON|console|process)\.\w+\s*=(?!=)/, 'replaces a built-in'],
  [/\bprocess\.chdir\(/, 'changes the working directory'],
  [/\bprocess\.umask\(\s*[^)\s]/, 'changes the umask'],
  [/\bprocess\.(exitCode)\s*=(?!=)/, 'sets the exit code'],
];

/** Files that do change such state for one test, and restore it themselves: reviewed, with how. */
const RESTORED: Record<string, string> = {
  'test/cli.test.ts': 'process.exit and the real stdout/stderr writes, replaced to catch a leak, restored in finally',
  'test/data-dir-modes.test.ts': 'the umask, set to 0 for one server start and restored in finally',
  'test/scan-cli.test.ts': 'the working directory and the real writes, for the in-process CLI, restored in finally',
  'src/http/gateway/request-model.test.ts': 'a spy on JSON.parse, restored by vi.restoreAllMocks in afterEach',
  'src/core/tokenizer.test.ts': "a spy counting the characters the process's one tokenizer encodes, restored in afterAll",
  'src/http/gateway/stream-relay.test.ts': 'a spy on Buffer.concat counting the bytes the framer copies, restored in finally',
  'test/translation-clients.test.ts': "a spy counting the characters the process's one tokenizer encodes, restored in finally",
};

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' ? [] : testFiles(p);
    return /\.test\.tsx?$/.test(e.name) || (p.includes(`${join('test', 'harness')}`) && /\.(ts|mjs)$/.test(e.name)) ? [p] : [];
  });
}

describe('test files leave the process as they found it (isolate: false)', () => {
  it('no test file or harness module changes process.env, globals, built-ins, timers or module mocks', () => {
    const offenders: string[] = [];
    const self = join(import.meta.dirname, 'test-hygiene.test.ts');
    for (const file of ROOTS.flatMap(testFiles)) {
      if (file === self || RESTORED[relative(join(import.meta.dirname, '..'), file)]) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const code = line.replace(/\/\/.*$/, '');
          for (const [re, what] of PROCESS_WIDE) if (re.test(code)) offenders.push(`${relative(join(import.meta.dirname, '..'), file)}:${i + 1} ${what}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('the patterns catch what they are meant to', () => {
    const caught = (line: string) => PROCESS_WIDE.some(([re]) => re.test(line));
    for (const bad of ["process.env.TOLLGATE_X = '1';", "process.env['A'] = 'b'", 'delete process.env.A;', 'vi.useFakeTimers();', "vi.stubEnv('A', 'b')", 'globalThis.fetch = f;', 'Date.now = () => 0;', "process.chdir('/tmp')", 'process.umask(0)']) {
      expect(caught(bad), bad).toBe(true);
    }
    for (const good of ['const env = { ...process.env, A: 1 };', 'if (process.env.CI === "true") {}', 'expect(Date.now()).toBe(x)', 'const x = process.env.A ?? 1;']) {
      expect(caught(good), good).toBe(false);
    }
  });
});
