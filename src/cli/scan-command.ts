import type { Command } from 'commander';
import { type Finding, type LookupResults, shouldFail, sortFindings, toPublicFinding, tollgateSecrets } from '../scanner/findings.js';
import { type PublicReport, type ScanResultView, formatJson, formatText } from '../scanner/format.js';
import { scanGitHistory, scanStaged } from '../scanner/git-history.js';
import { DEFAULT_HOOK_COMMAND, installHook } from '../scanner/hook.js';
import { redactFound, redactSecretsInText } from '../scanner/patterns.js';
import { createProgress } from '../scanner/progress.js';
import { type ServerOptions, lookupSecrets, reportExposed } from '../scanner/report.js';
import { reportUrl } from '../scanner/report-url.js';
import { formatSarif } from '../scanner/sarif.js';
import { cliIo, isProcessIo } from './io.js';
import { remoteServer } from './server-url.js';
import { LARGEST_SCANNABLE_SIZE, formatBytes, parseSize } from '../scanner/size.js';
import { type ScanOutcome, scanPaths } from '../scanner/walk.js';

// `tollgate scan`: find leaked secrets in files, git history or staged changes; check Tollgate keys
// against a server; optionally report them as exposed; install a pre-commit hook.

interface ScanOptions {
  json?: boolean;
  server?: string;
  adminKey?: string;
  git?: boolean;
  staged?: boolean;
  sarif?: boolean;
  failOnAny?: boolean;
  maxFileSize: string;
  report?: boolean;
  installHook?: boolean;
  repo: string;
  hookCommand: string;
  force?: boolean;
}

/** A scan that found what should fail it; the CLI prints the message and exits 1. */
export class ScanFailedError extends Error {}

/** Adds `tollgate scan` to the program. */
export function registerScanCommand(program: Command): void {
  program
    .command('scan')
    .description('find leaked secrets (Tollgate keys, and other providers\' keys) in files or git history')
    .argument('[paths...]', 'files and directories to scan (with --git or --staged: one repository)', ['.'])
    .option('--git', 'scan every blob in the repository (every commit, reachable or not, and tagged blobs) instead of the files')
    .option('--staged', 'scan the staged changes of the repository (what the next commit adds)')
    .option('--sarif', 'print SARIF 2.1.0 (for code-scanning dashboards)')
    .option('--fail-on-any', 'exit 1 on any finding, including other providers\' keys and dead Tollgate keys')
    .option('--max-file-size <size>', 'skip files larger than this, e.g. 10MB', '50MB')
    .option('--report', 'report the Tollgate keys found to --server as exposed (the server disables them)')
    .option('--install-hook', 'install a git pre-commit hook that runs `scan --staged`')
    .option('--repo <dir>', 'repository for --install-hook', '.')
    .option('--hook-command <cmd>', 'command the hook runs before `scan --staged`', DEFAULT_HOOK_COMMAND)
    .option('--force', 'with --install-hook: replace an existing, different pre-commit hook')
    .action(async (paths: string[], _o: unknown, cmd: Command) => {
      refuseOptionsOfTheOtherJob(cmd);
      try {
        await runScan(paths, cmd.optsWithGlobals() as ScanOptions, cliIo().env);
      } catch (err) {
        // A message may name a path, and a path may hold a secret (a file or directory named after a key).
        if (err instanceof Error) err.message = redactSecretsInText(err.message);
        throw err;
      }
    });
}

// Options of scanning and of installing the hook: given to the other job, each was ignored without a word.
const SCAN_ONLY = { git: '--git', staged: '--staged', sarif: '--sarif', report: '--report', failOnAny: '--fail-on-any', maxFileSize: '--max-file-size' };
const HOOK_ONLY = { repo: '--repo', hookCommand: '--hook-command', force: '--force' };

/** Refuses an option the job asked for (a scan, or --install-hook) does not read. */
function refuseOptionsOfTheOtherJob(cmd: Command): void {
  const given = (name: string) => {
    const source = cmd.getOptionValueSource(name);
    return source !== undefined && source !== 'default';
  };
  if (given('installHook')) {
    for (const [name, flag] of Object.entries(SCAN_ONLY)) {
      if (given(name)) throw new Error(`${flag} cannot be used with --install-hook: it is of a scan, and --install-hook scans nothing`);
    }
    if (cmd.args.length > 0) throw new Error('--install-hook takes no paths: give the repository with --repo');
  } else {
    for (const [name, flag] of Object.entries(HOOK_ONLY)) {
      if (given(name)) throw new Error(`${flag} needs --install-hook: it is of the pre-commit hook's installation`);
    }
  }
}

async function runScan(paths: string[], o: ScanOptions, env: Record<string, string | undefined>): Promise<void> {
  if (o.installHook) {
    const r = await installHook({ repo: o.repo, command: o.hookCommand, force: o.force });
    const what = r.action === 'unchanged' ? 'is already installed' : r.action === 'replaced' ? `replaced (old hook kept as ${r.backup})` : 'installed';
    cliIo().out(`Pre-commit hook ${what}: ${r.path}\n`);
    return;
  }
  const maxFileSize = parseSize(o.maxFileSize);
  if (maxFileSize === null) throw new Error(`--max-file-size expects a size such as 50MB or 512KB, got '${o.maxFileSize}'`);
  if (maxFileSize > LARGEST_SCANNABLE_SIZE) throw new Error(`--max-file-size can be at most ${formatBytes(LARGEST_SCANNABLE_SIZE)}`);
  if (o.json && o.sarif) throw new Error('--json and --sarif cannot be combined');
  if (o.git && o.staged) throw new Error('--git and --staged cannot be combined');
  if ((o.git || o.staged) && paths.length > 1) throw new Error('--git and --staged scan one repository at a time');
  const remote = remoteServer(o, env);
  if (o.report && !remote) throw new Error('--report needs --server and --admin-key (or TOLLGATE_URL and TOLLGATE_ADMIN_KEY)');
  const serverOptions: ServerOptions | null = remote ? { server: remote.base, adminKey: remote.adminKey, timeoutMs: remote.timeoutMs } : null;

  // Progress only on the real terminal (createProgress also checks isTTY).
  const progress = createProgress(isProcessIo() ? process.stderr : { isTTY: false, write: () => true });
  const scanOptions = { maxFileSize, onProgress: progress.update };
  let outcome: ScanOutcome;
  try {
    if (o.git) outcome = await scanGitHistory(paths[0], scanOptions);
    else if (o.staged) outcome = await scanStaged(paths[0], scanOptions);
    else outcome = await scanPaths(paths, scanOptions);
  } finally {
    progress.done();
  }
  for (const note of outcome.notes) cliIo().err(`note: ${redactSecretsInText(note)}\n`);
  const findings = sortFindings(outcome.findings);
  const secrets = tollgateSecrets(findings);

  let lookups: LookupResults = new Map();
  let uncheckedWhy = secrets.length > 0 && !serverOptions ? 'no --server to check them against' : '';
  if (serverOptions && secrets.length > 0) {
    try {
      lookups = await lookupSecrets(serverOptions, secrets);
    } catch (err) {
      // Not fatal: the keys count as unchecked, which fails the scan; the findings are still worth printing.
      uncheckedWhy = `could not check them with ${serverOptions.server}: ${errorText(err)}`;
      cliIo().err(`warning: ${uncheckedWhy}\n`);
    }
  }

  let reported: { reports: PublicReport[]; error: string | null } | undefined;
  if (o.report && serverOptions) {
    const where = (f: Finding) => reportUrl(f, paths[0], Boolean(o.git || o.staged));
    reported = await reportFindings(serverOptions, findings, where);
  }

  const view: ScanResultView = { findings: findings.map((f) => toPublicFinding(f, lookups)), summary: outcome.summary, reports: reported?.reports };
  cliIo().out(o.sarif ? formatSarif(view.findings) : o.json ? formatJson(view) : formatText(view));

  if (reported?.error) {
    // A key not reported may still be live: that fails the command whatever the scan found.
    const failed = reported.reports.filter((r) => r.error).map((r) => r.redacted);
    throw new Error(
      `reporting to ${serverOptions?.server} failed: ${reported.error} (${failed.length} of ${reported.reports.length} ${reported.reports.length === 1 ? 'key' : 'keys'} not reported, still live if they were: ${failed.join(', ')})`,
    );
  }
  if (shouldFail(findings, lookups, Boolean(o.failOnAny))) {
    const failing = new Set(findings.filter((f, i) => f.type === 'tollgate' && view.findings[i].live !== false).map((f) => f.secret)).size;
    throw new ScanFailedError(
      failing > 0
        ? `found ${failing} Tollgate ${failing === 1 ? 'key that is' : 'keys that are'} live or could not be checked${uncheckedWhy ? ` (${uncheckedWhy})` : ''}`
        : `found ${findings.length} ${findings.length === 1 ? 'secret' : 'secrets'} (--fail-on-any)`,
    );
  }
}

/** Reports each distinct Tollgate key once, at its first location; failures are returned so findings still print. */
async function reportFindings(
  server: ServerOptions,
  findings: readonly Finding[],
  where: (f: Finding) => string,
): Promise<{ reports: PublicReport[]; error: string | null }> {
  const firstSeen = new Map<string, Finding>();
  for (const f of findings) if (f.type === 'tollgate' && !firstSeen.has(f.secret)) firstSeen.set(f.secret, f);
  const { answers, failures } = await reportExposed(server, [...firstSeen.values()].map((f) => ({ secret: f.secret, url: where(f) })));
  const reports = [...firstSeen.keys()].map((s): PublicReport => {
    const answer = answers.get(s);
    const failure = failures.get(s);
    return {
      redacted: redactFound('tollgate', s),
      label: answer?.label ?? null,
      disabled: answer?.disabled ?? null,
      status: answer?.status ?? null,
      // The server's message may quote what it was sent.
      ...(failure ? { error: redactSecretsInText(failure) } : {}),
    };
  });
  const first = [...failures.values()][0];
  return { reports, error: first === undefined ? null : redactSecretsInText(first) };
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch() hides the reason (ECONNREFUSED, a DNS failure) in `cause`.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err.message + cause;
}
