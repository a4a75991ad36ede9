// What an update changes, for its audit entry: a member sent with the value the object already has (a form that sends
// every field, a client that repeats a request) is no change, and an entry naming it says something that did not happen.

/**
 * One spelling per value: object members sorted, null members dropped, an empty list or object as null. Each of these
 * reads the same to what is stored (no allowlist, no limit): `[]` and null are stored alike, and a member left out is none.
 */
function canonical(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.length ? v.map(canonical) : null;
  if (typeof v !== 'object') return v;
  const members = Object.entries(v)
    .map(([k, x]) => [k, canonical(x)] as const)
    .filter(([, x]) => x !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return members.length ? Object.fromEntries(members) : null;
}

/** The members of an update body whose values differ from the object's before it (members left out are no change). */
export function changedMembers<T extends object>(body: Partial<T>, before: T): Partial<T> {
  const changed: Record<string, unknown> = {};
  for (const [member, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (JSON.stringify(canonical(value)) !== JSON.stringify(canonical(before[member as keyof T]))) changed[member] = value;
  }
  return changed as Partial<T>;
}

/** Whether an update changes anything. */
export const changesAnything = (changed: object): boolean => Object.keys(changed).length > 0;
