// The gateway's sync-or-promise fast path, in one place (as Hono keeps it in its dispatch). A stage whose caches all hit
// (key record, project policy, object owners, limits in memory) answers at once; only a miss waits for storage. An
// `await` of a value that is already here still costs a trip through the microtask queue per stage, measurable on a
// path that runs thousands of times a second; these helpers let a caller skip it, and no other file asks whether a
// value is a promise (src/architecture.test.ts keeps it so).

/** A value now, or one still to come. */
export type MaybePromise<T> = T | Promise<T>;

/** Whether a value is still to come: then `await` it; otherwise use it as it is. */
export function isPending<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `next` applied to a value: at once when it is here, once it comes when it is not. */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
