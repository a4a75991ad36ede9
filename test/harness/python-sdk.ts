import { execFileSync } from 'node:child_process';
import { describe, it } from 'vitest';

// OpenAI's Python SDK as a test client (strict response validation), for the files test/*python*.test.ts.
//
// Which Python: TOLLGATE_PYTHON, else a `python3` that imports `openai`. This machine's package index is not PyPI, so
// the package cannot be counted on: .ci/run installs it in a venv when it can and exports TOLLGATE_PYTHON, or says
// TOLLGATE_PYTHON_SDK=unavailable when no index answered. The suites then run whenever the SDK is there; they are
// skipped when it is not, except under CI=true without that word from .ci/run (a CI that forgot to try must fail, not
// skip).

function pythonWithSdk(): string | null {
  for (const python of [process.env.TOLLGATE_PYTHON, 'python3']) {
    if (!python) continue;
    try {
      execFileSync(python, ['-c', 'import openai'], { stdio: 'ignore', timeout: 20_000 });
      return python;
    } catch {
      // not there, or without the package
    }
  }
  return null;
}

let found: { python: string | null } | undefined;

/**
 * Declares a file's suites when the Python SDK is to be used, passing the Python to run (null only under CI=true, where
 * the suite must then fail on it), else one skipped suite saying why: a file that declares no suite at all fails
 * vitest's whole run ("No test suite found"), which is how a machine without Python once failed `npm test`.
 */
export function describeWithPythonSdk(file: string, declare: (python: string | null) => void): void {
  found ??= { python: pythonWithSdk() };
  const declaredUnavailable = process.env.TOLLGATE_PYTHON_SDK === 'unavailable';
  const mustRun = process.env.CI === 'true' && !declaredUnavailable;
  if (found.python !== null || mustRun) {
    declare(found.python);
    return;
  }
  const why = declaredUnavailable ? 'CI could not install it' : 'set TOLLGATE_PYTHON';
  console.warn(`${file}: skipped, no Python with the openai package (${why})`);
  describe.skip(`${file}: no Python with the openai package (${why})`, () => {
    it('skipped', () => {});
  });
}
