import { type SecretMatch, findSecrets } from './patterns.js';

// Names are text too: a file, a directory, a zip entry, a path in a git tree or a ref can be named after a key (a
// cache file named by its token, a directory per key). A review found such keys never scanned, and printed and
// reported in full as the location of other findings.

/** A secret in a name, and where it is: the name up to the end of the part (directory or file) that holds it. */
export interface NameMatch {
  match: SecretMatch;
  location: string;
}

/**
 * The secrets in a path (`/` or `\` separated). Each is located at the part that holds it, so a key in a directory's
 * name is one finding for the directory, however many files are under it. No format has `/` or `\` in it.
 */
export function secretsInPath(path: string): NameMatch[] {
  return findSecrets(path).map((match) => {
    const end = path.slice(match.index + match.secret.length).search(/[/\\]/);
    return { match, location: end === -1 ? path : path.slice(0, match.index + match.secret.length + end) };
  });
}
