import { TollgateError } from './errors.js';

// Members of a request body read as an upstream may read them. OpenAI's and Anthropic's members are all lower case,
// but an upstream may match names without regard to case (Go's encoding/json, which also folds the Kelvin sign to k
// and ſ to s): a check that reads `id` while the upstream reads `ID` decides on another value than the one acted on.
// The top-level members of a JSON body are refused in any other case (core/request-model.ts); a member below it that
// a check decides on is read here, in any case, and an object naming it in two spellings is refused (400), as which
// one an upstream takes cannot be known.

/**
 * Whether a member's name may fold to another: it has an ASCII capital or a character past ASCII (a loop: most
 * bodies' names have neither, and this runs per request).
 */
export function mayFold(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return true;
  }
  return false;
}

/** A member name as an upstream matching names without regard to case reads it (lower case, K and ſ folded). */
export function foldName(name: string): string {
  return mayFold(name) ? name.toUpperCase().toLowerCase() : name;
}

/** The 400 for an object naming one member in two spellings. */
function twoSpellings(name: string, first: string, second: string): TollgateError {
  return new TollgateError(
    'invalid_value',
    `The request names '${name}' twice in one object, as '${first.slice(0, 64)}' and '${second.slice(0, 64)}'; an upstream matching names without regard to case could read either. Name it once, in lower case.`,
    name,
  );
}

/**
 * The value of `obj`'s member `name` (lower case) in any case, undefined when it has none; throws 400 (`invalid_value`)
 * when the object names it in two spellings.
 */
export function memberInAnyCase(obj: Readonly<Record<string, unknown>>, name: string): unknown {
  let found: string | undefined;
  for (const key in obj) {
    if (key !== name && (!mayFold(key) || key.toUpperCase().toLowerCase() !== name)) continue;
    if (found !== undefined) throw twoSpellings(name, found, key);
    found = key;
  }
  return found === undefined ? undefined : obj[found];
}

/**
 * The members `names` (lower case) of `obj`, each read in any case as memberInAnyCase does, as one object: `obj`
 * itself when none of its names may fold (one pass, the usual case).
 */
export function membersInAnyCase(obj: Readonly<Record<string, unknown>>, names: ReadonlySet<string>): Readonly<Record<string, unknown>> {
  let folds = false;
  for (const key in obj) {
    if (mayFold(key)) {
      folds = true;
      break;
    }
  }
  if (!folds) return obj;
  const out: Record<string, unknown> = Object.create(null);
  const spelled: Record<string, string> = Object.create(null);
  for (const key in obj) {
    const name = foldName(key);
    if (!names.has(name)) continue;
    if (spelled[name] !== undefined) throw twoSpellings(name, spelled[name], key);
    spelled[name] = key;
    out[name] = obj[key];
  }
  return out;
}
