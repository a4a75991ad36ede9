import { type SecretMatch, findSecrets } from './patterns.js';

/** A secret with its 1-based line and column (columns count characters: bytes for latin1 text, code units for UTF-16). */
export interface LocatedMatch extends SecretMatch {
  line: number;
  column: number;
}

/** Finds the secrets in one file's or blob's text and says where they are. */
export function scanText(text: string): LocatedMatch[] {
  const matches = findSecrets(text);
  const out: LocatedMatch[] = [];
  // Matches come in order, so one forward walk over the newlines serves them all: line numbers cost
  // nothing for the (usual) file without secrets.
  let line = 1;
  let lineStart = 0;
  for (const m of matches) {
    for (let nl = text.indexOf('\n', lineStart); nl !== -1 && nl < m.index; nl = text.indexOf('\n', lineStart)) {
      line++;
      lineStart = nl + 1;
    }
    out.push({ ...m, line, column: m.index - lineStart + 1 });
  }
  return out;
}
