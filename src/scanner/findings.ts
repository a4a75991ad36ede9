import type { SecretKind } from '../core/key-format.js';
import { type SecretType, redactFound, redactSecretsInText } from './patterns.js';

/**
 * Where `--git` found a secret outside a commit's files: `ref`, in a blob a ref reaches without a commit (a tag on a
 * blob or a tree; `file` is then `refs/tags/x` or `refs/tags/x:path`); `unreachable`, in a blob nothing reaches (`file`
 * is the blob id); `commit`, in a commit object itself, its message or author (`file` and `commit` are its id); `tag`,
 * in an annotated tag object, its message (`file` is the tag object's id). Lines count as `git cat-file -p <id>` shows.
 */
export type FoundIn = 'ref' | 'unreachable' | 'commit' | 'tag';

/** A found secret and where it is. Holds the secret itself, for lookup and reporting: never print it. */
export interface Finding {
  type: SecretType;
  secondary: boolean;
  secret: string;
  kind?: SecretKind;
  /** Path as the user would open it: relative to the scanned argument, or inside the repository. May hold secrets. */
  file: string;
  /** 1-based; 0 (both) for a secret in a name. */
  line: number;
  column: number;
  /** The commit that introduced the blob (--git), else null. */
  commit: string | null;
  /** Set only for a --git secret outside a commit's files. */
  foundIn?: FoundIn;
  /** The secret is in the name `file` ends with (a file's, a directory's, an archive entry's, a ref's), not in content. */
  inName?: boolean;
}

/** A finding for a secret in a name: `location` is the name up to the part that holds it. */
export function nameFinding(match: { type: SecretType; secondary: boolean; secret: string; kind?: SecretKind }, location: string, commit: string | null): Finding {
  return { type: match.type, secondary: match.secondary, secret: match.secret, kind: match.kind, file: location, line: 0, column: 0, commit, inName: true };
}

/** What the server said about a secret (lookup endpoint), per its contract. */
export type KeyLookup =
  | { found: true; id: string; kind: SecretKind; project_id: string | null; name: string | null; status: string }
  | { found: false };

/** Lookups by secret; a secret missing from the map could not be checked. */
export type LookupResults = ReadonlyMap<string, KeyLookup>;

export interface ScanSummary {
  files: number;
  bytes: number;
  commits: number;
}

/** The stable JSON shape of one finding (`--json`). */
export interface PublicFinding {
  type: SecretType;
  secondary: boolean;
  file: string;
  line: number;
  column: number;
  commit: string | null;
  found_in?: FoundIn;
  /** Present (true) only for a secret in the name `file` ends with; line and column are then 0. */
  in_name?: true;
  redacted: string;
  kind?: SecretKind;
  live?: boolean | null;
  key_id?: string;
  key_name?: string | null;
  project_id?: string | null;
  status?: string;
}

// Statuses after which a secret no longer authenticates: its key's (revoked, exposed, suspended), its key's expiry, a
// rotation that retired this secret (`rotated_out`: the key lives on under its new secret), its project archived.
// Any other status (including one a newer server may add) counts as live: failing a scan wrongly is cheaper than
// passing a live key.
const DEAD_STATUSES: ReadonlySet<string> = new Set(['revoked', 'expired', 'exposed', 'suspended', 'rotated_out', 'project_archived']);

/** Whether a Tollgate key is live: true, false, or null when it could not be checked. */
export function isLive(lookup: KeyLookup | undefined): boolean | null {
  if (!lookup) return null;
  return lookup.found && !DEAD_STATUSES.has(lookup.status);
}

/** Whether the scan should exit 1: a Tollgate key that is live or unchecked, or with failOnAny any finding. */
export function shouldFail(findings: readonly Finding[], lookups: LookupResults, failOnAny: boolean): boolean {
  if (failOnAny && findings.length > 0) return true;
  return findings.some((f) => f.type === 'tollgate' && isLive(lookups.get(f.secret)) !== false);
}

/** The printable form of a finding: redacted (its secret, and any secret in its path), with what the server knows about it. */
export function toPublicFinding(f: Finding, lookups: LookupResults): PublicFinding {
  const out: PublicFinding = {
    type: f.type,
    secondary: f.secondary,
    file: redactSecretsInText(f.file),
    line: f.line,
    column: f.column,
    commit: f.commit,
    ...(f.foundIn ? { found_in: f.foundIn } : {}),
    ...(f.inName ? { in_name: true as const } : {}),
    redacted: redactFound(f.type, f.secret),
  };
  if (f.type !== 'tollgate') return out;
  const lookup = lookups.get(f.secret);
  out.kind = f.kind;
  out.live = isLive(lookup);
  if (lookup?.found) {
    out.key_id = lookup.id;
    out.key_name = lookup.name;
    out.project_id = lookup.project_id;
    out.status = lookup.status;
  } else if (lookup) {
    // Valid format and checksum, but not a key of this server (another install, or a test fixture).
    out.status = 'unknown';
  }
  return out;
}

const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts findings by file, line, column and commit, so output does not depend on read order. */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort(
    (a, b) => order(a.file, b.file) || a.line - b.line || a.column - b.column || order(a.commit ?? '', b.commit ?? ''),
  );
}

/** The distinct valid Tollgate secrets among the findings, in order of first appearance. */
export function tollgateSecrets(findings: readonly Finding[]): string[] {
  return [...new Set(findings.filter((f) => f.type === 'tollgate').map((f) => f.secret))];
}
