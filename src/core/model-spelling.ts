import { TollgateError } from './errors.js';
import { limitedAs } from './limit-plan.js';

// Azure resolves a deployment name without regard to case, and a model with no deployment mapped to it is its own
// deployment name: `GPT-4o` runs what `gpt-4o` runs. The gateway's limits, prices and allowlists are by exact name, so
// another spelling went past a project's limits on the model, and was billed as an unpriced one at $0 (found by a
// review). For a provider that takes names so (Upstream.modelsIgnoreCase), a model that is a name the gateway knows in
// another case is refused, naming the spelling to use: each model keeps one name, and its limits stay exact.

/** Names by their lower case, each with its spellings. */
export type SpellingIndex = ReadonlyMap<string, readonly string[]>;

/** The index of `names` (SpellingIndex). */
export function spellingIndex(names: Iterable<string>): SpellingIndex {
  const index = new Map<string, string[]>();
  for (const name of names) {
    const lower = name.toLowerCase();
    const spellings = index.get(lower);
    if (spellings === undefined) index.set(lower, [name]);
    else if (!spellings.includes(name)) spellings.push(name);
  }
  return index;
}

/**
 * The spelling `known` gives a name `model` counts as (itself, its snapshot's base, its alias's model: limitedAs) when
 * `model` spells it otherwise (only case differing), or null: `model` is a known name as it is, or no known name.
 */
export function otherSpelling(model: string, known: ReadonlyArray<SpellingIndex | readonly string[] | null>): { as: string; known: string } | null {
  for (const name of limitedAs(model)) {
    const lower = name.toLowerCase();
    let other: string | null = null;
    let exact = false;
    for (const source of known) {
      if (source === null) continue;
      const spellings = Array.isArray(source) ? source.filter((s) => s.toLowerCase() === lower) : ((source as SpellingIndex).get(lower) ?? []);
      for (const s of spellings) {
        if (s === name) exact = true;
        else other ??= s;
      }
    }
    if (other !== null && !exact) return { as: name, known: other };
  }
  return null;
}

/** The refusal of a model spelled otherwise than the name the gateway knows (404, as an unknown model). */
export function otherSpellingRefused(model: string, found: { as: string; known: string }): TollgateError {
  const whole = found.as === model ? `'${found.known}'` : `'${found.known}' (for '${found.as}')`;
  return new TollgateError(
    'model_not_found',
    `The model '${model.slice(0, 256)}' does not exist or you do not have access to it. Its provider reads model names without regard to case, and this gateway knows this one as ${whole}: name it so, exactly.`,
    'model',
  );
}
