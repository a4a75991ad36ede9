// A misspelt setting (TOLLGATE_BUDGET_FAILUR=open) was ignored without a word and its default used: a start warns of
// every TOLLGATE_ variable Tollgate does not read, naming the closest one it does. A warning, not a refusal: an
// environment shared with other tools may hold names of theirs.

/** TOLLGATE_ variables read outside the server's settings: the CLI's, the README's client key, the test harness's. */
// The CLI's and the README tour's variables, and .ci/run's (the Python SDK the test suites drive).
const READ_ELSEWHERE = ['TOLLGATE_URL', 'TOLLGATE_ADMIN_KEY', 'TOLLGATE_CLI_TIMEOUT_MS', 'TOLLGATE_KEY', 'TOLLGATE_PYTHON', 'TOLLGATE_PYTHON_SDK'];
const PREFIX = 'TOLLGATE_';

/** One warning per TOLLGATE_ variable in `env` that is not among `known`, naming the closest known one if any is near. */
export function unknownSettingWarnings(env: Readonly<Record<string, string | undefined>>, known: readonly string[]): string[] {
  const names = [...known.filter((k) => k.startsWith(PREFIX)), ...READ_ELSEWHERE];
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(PREFIX) || name.startsWith('TOLLGATE_TEST_') || names.includes(name)) continue;
    const closest = closestName(name, names);
    warnings.push(`${name} is not a Tollgate setting and is ignored${closest ? `: did you mean ${closest}?` : ''}`);
  }
  return warnings;
}

/** The known name fewest edits away, when that is at most a third of the name past the prefix (else none is near). */
function closestName(name: string, names: readonly string[]): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const candidate of names) {
    const distance = editDistance(name, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor((name.length - PREFIX.length) / 3)) ? best.name : null;
}

/** Levenshtein distance (names are short: a plain table). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length];
}
