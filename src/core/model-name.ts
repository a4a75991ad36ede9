// What a model name may be. Model names are stored (usage events, rollups) and matched against allowlists and
// routes: a client may not make them unbounded, nor hide control characters in them (issue 15 §7: five 2 MB model
// names grew the database by 19 MB). OpenAI's own ids are short printable ASCII.

/** The longest model name accepted, in characters (UTF-16 code units). */
export const MAX_MODEL_NAME_LENGTH = 256;

// Unicode's control characters (category Cc): C0, DEL and C1.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why a model name is refused (too long, or a control character in it), or null when it is clean. */
export function modelNameProblem(name: string): string | null {
  if (name.length > MAX_MODEL_NAME_LENGTH) {
    return `The model name is ${name.length} characters long; the longest accepted is ${MAX_MODEL_NAME_LENGTH}.`;
  }
  if (CONTROL.test(name)) return 'The model name contains a control character.';
  return null;
}
