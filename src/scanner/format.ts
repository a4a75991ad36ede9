import type { PublicFinding, ScanSummary } from './findings.js';
import type { SecretType } from './patterns.js';
import type { ReportLabel } from './report.js';
import { quotedForDisplay } from '../core/plain-text.js';
import { formatBytes } from './size.js';

// Text and JSON renderings of a scan. They take public (redacted) findings only, so no format can
// print a secret by mistake.

/** What the server answered for one reported secret. */
export interface PublicReport {
  redacted: string;
  label: ReportLabel | null;
  /** Whether this report disabled the key; null when not answered. */
  disabled: boolean | null;
  /** What the secret can do now, as the server said (`exposed`, `rotated_out`…), or null. */
  status: string | null;
  /** Present when the report could not be made (the key may still be live): why. */
  error?: string;
}

export interface ScanResultView {
  findings: readonly PublicFinding[];
  summary: ScanSummary;
  /** Present only with --report. */
  reports?: readonly PublicReport[];
}

const TYPE_NAMES: Readonly<Record<SecretType, string>> = {
  tollgate: 'Tollgate',
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  aws: 'AWS',
  github: 'GitHub',
};

/**
 * `path:line:column`, prefixed by the short commit id for history findings (git's `<rev>:<path>` form). A blob
 * outside every commit is named as git would name it: the ref (`refs/tags/x`, `refs/tags/x:path`), or
 * `unreachable blob <short id>`; a commit's or annotated tag's own text as `commit <short id>` or `tag <short id>`; a
 * secret in a name as the name and `(name)`. A path with a control character (a file named to rewrite the terminal) is
 * quoted and escaped as git quotes it.
 */
export function locationOf(f: PublicFinding): string {
  // A commit's or tag's own text (its message): named by the object, as `git cat-file -p <id>` shows it.
  if (f.found_in === 'commit' || f.found_in === 'tag') return `${f.found_in} ${f.file.slice(0, 12)}:${f.line}:${f.column}`;
  // An unreachable blob's file is its id, then `!/entry` when the key is inside an archive in it.
  const where = f.found_in === 'unreachable' ? `unreachable blob ${f.file.slice(0, 12)}${quotedForDisplay(f.file.replace(/^[0-9a-f]+/, ''))}` : quotedForDisplay(f.file);
  // A secret in a name has no line: the name is the place (`dir/sk-tg-…Ab3x.json (name)`).
  return `${f.commit ? `${f.commit.slice(0, 12)}:` : ''}${where}${f.in_name ? ' (name)' : `:${f.line}:${f.column}`}`;
}

/** What a finding is and, for Tollgate keys, what the server said about it (no location). */
export function describeFinding(f: PublicFinding): string {
  const what = f.type === 'tollgate' ? `Tollgate ${f.kind} key` : `${TYPE_NAMES[f.type]} key (other provider)`;
  return `${what} ${f.redacted}${f.type === 'tollgate' ? `  ${describeStatus(f)}` : ''}`;
}

/** A key's name in double quotes, escaped as git quotes a path when it holds control characters or quotes. */
function quotedName(name: string): string {
  const quoted = quotedForDisplay(name);
  return quoted === name ? `"${name}"` : quoted;
}

function describeStatus(f: PublicFinding): string {
  if (f.live === null || f.live === undefined) return 'NOT CHECKED';
  if (f.status === 'unknown') return 'not a key of this server';
  const owner = `${f.key_id}${f.key_name ? ` ${quotedName(f.key_name)}` : ''}${f.project_id ? ` in ${f.project_id}` : ''}`;
  return f.live ? `LIVE (${f.status}): ${owner}` : `${f.status}: ${owner}`;
}

/** The human-readable report. */
export function formatText(view: ScanResultView): string {
  const lines = view.findings.map((f) => `${locationOf(f)}  ${describeFinding(f)}`);
  const { files, bytes, commits } = view.summary;
  const scanned = `Scanned ${files} ${files === 1 ? 'file' : 'files'} (${formatBytes(bytes)})${commits > 0 ? ` in ${commits} commits` : ''}`;
  const count = view.findings.length;
  lines.push(count === 0 ? `${scanned}: no secrets found.` : `${scanned}: ${count} ${count === 1 ? 'secret' : 'secrets'} found.`);
  for (const r of view.reports ?? []) {
    lines.push(r.error ? `Could not report ${r.redacted} as exposed (${r.error}): if it is live, it still works.` : `Reported ${r.redacted} as exposed: ${reportOutcome(r)}.`);
  }
  return `${lines.join('\n')}\n`;
}

/** What a report did, in words: "disabled" only when the server says it disabled the key. */
function reportOutcome(r: PublicReport): string {
  if (r.label === null) return 'no answer';
  if (r.label === 'false_positive') return 'not disabled (the server did not recognise it as a key of its own)';
  if (r.disabled) return 'disabled';
  if (r.status === 'exposed') return 'already disabled (exposed)';
  if (r.status === 'rotated_out') return "not disabled: the secret is no longer valid (rotated out; the key's current secret was left alone)";
  if (r.status && r.status !== 'active') return `not disabled: the secret is no longer valid (${r.status.replaceAll('_', ' ')})`;
  return 'not disabled (the server recognised it but disabled nothing)';
}

/** The `--json` document: `{ findings, summary, reports? }`. */
export function formatJson(view: ScanResultView): string {
  const doc = {
    findings: view.findings,
    summary: { ...view.summary, findings: view.findings.length },
    ...(view.reports ? { reports: view.reports } : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
