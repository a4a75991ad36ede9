import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSecret } from '../src/core/key-format.js';
import { scanGitHistory } from '../src/scanner/git-history.js';
import { scanPaths } from '../src/scanner/walk.js';

// Scanner throughput: ~200 MB of source-like text with a few planted keys, and a synthetic repository of
// 10,000 commits (built with git fast-import in seconds). Targets: >= 50 MB/s for files, and the whole
// history in under a minute on 2 cores. Run alone: node --import tsx bench/scan-bench.ts

const TEXT_FILES = 400;
const TEXT_FILE_BYTES = 512 * 1024;
const COMMITS = 10_000;
const REPO_FILES = 200;
const MIB = 1024 * 1024;

// Words a scanner sees in real code, including near-misses of key prefixes (`sk-`, `AKIA`, `gh…_`).
const WORDS = (
  'const let return import export function async await if else for while new this class interface type ' +
  'string number boolean null undefined true false task-list desk-top ask-me sk-learn AKIAtest ghp_short ' +
  'github_pat config secret token apiKey Authorization Bearer process.env.OPENAI_API_KEY = ; { } ( ) => '
).split(' ');

/** Pseudo-random source-like text (deterministic enough for a benchmark, fast to make). */
function makeText(bytes: number): string {
  const rnd = randomBytes(bytes / 4);
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const w = WORDS[rnd[i % rnd.length] % WORDS.length];
    const sep = rnd[(i * 7) % rnd.length] % 9 === 0 ? '\n  ' : ' ';
    parts.push(w, sep);
    size += w.length + sep.length;
  }
  return parts.join('').slice(0, bytes);
}

function newKey(): string {
  return generateSecret('project', (n) => randomBytes(n));
}

async function makeTextTree(dir: string): Promise<number> {
  const pool = makeText(4 * MIB);
  const planted = new Set([7, 123, 256, 399]);
  for (let i = 0; i < TEXT_FILES; i++) {
    const sub = join(dir, `pkg${i % 20}`);
    await mkdir(sub, { recursive: true });
    const start = (i * 9973) % (pool.length - TEXT_FILE_BYTES);
    let body = pool.slice(start, start + TEXT_FILE_BYTES);
    if (planted.has(i)) body = `${body.slice(0, 1000)}\nKEY="${newKey()}"\n${body.slice(1000)}`;
    await writeFile(join(sub, `file${i}.ts`), body);
  }
  return planted.size;
}

/** Writes a fast-import stream: a linear history touching one or two of REPO_FILES files per commit. */
function fastImportStream(key: string): string {
  const pool = makeText(256 * 1024);
  const out: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  for (let c = 1; c <= COMMITS; c++) {
    out.push(`commit refs/heads/main\nmark :${c}\ncommitter Bench <bench@example.com> ${1_600_000_000 + c * 60} +0000\n`);
    out.push(data(`commit ${c}`));
    if (c > 1) out.push(`from :${c - 1}\n`);
    for (const f of [c % REPO_FILES, (c * 31) % REPO_FILES]) {
      const start = (c * 7919 + f) % (pool.length - 2048);
      out.push(`M 100644 inline src/mod${f % 10}/file${f}.ts\n`, data(`// rev ${c}\n${pool.slice(start, start + 2048)}`));
    }
    // A key committed deep in history and deleted in the next commit.
    if (c === 1234) out.push('M 100644 inline config/leaked.env\n', data(`TOLLGATE_KEY=${key}\n`));
    if (c === 1235) out.push('D config/leaked.env\n');
  }
  return out.join('');
}

function git(cwd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git ${args[0]} exited ${code}`))));
    child.stdin.end(input ?? '');
  });
}

/** Runs both benchmarks; throws if a planted key is missed (a fast scanner that misses keys is no use). */
export async function benchScan(): Promise<{ mbPerSec: number; gitCommits: number; gitSeconds: number }> {
  const root = await mkdtemp(join(tmpdir(), 'tollgate-scan-bench-'));
  try {
    const textDir = join(root, 'text');
    const planted = await makeTextTree(textDir);
    const t0 = performance.now();
    const files = await scanPaths([textDir], { maxFileSize: 50 * MIB });
    const fileSeconds = (performance.now() - t0) / 1000;
    if (files.findings.filter((f) => f.type === 'tollgate').length !== planted) throw new Error('file scan missed a planted key');

    const repo = join(root, 'repo');
    await mkdir(repo);
    await git(repo, ['init', '-q']);
    await git(repo, ['fast-import', '--quiet'], fastImportStream(newKey()));
    const t1 = performance.now();
    const history = await scanGitHistory(repo, { maxFileSize: 50 * MIB });
    const gitSeconds = (performance.now() - t1) / 1000;
    if (!history.findings.some((f) => f.type === 'tollgate' && f.file === 'config/leaked.env')) throw new Error('history scan missed the planted key');

    return {
      mbPerSec: Math.round(files.summary.bytes / MIB / fileSeconds),
      gitCommits: history.summary.commits,
      gitSeconds: Math.round(gitSeconds * 100) / 100,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchScan());
}
