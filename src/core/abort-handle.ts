/**
 * A cheap abort handle with one listener (the upstream exchange in flight): Node's AbortController and EventTarget
 * cost several microseconds per request on the hot path, and an EventEmitter per request (construction, `once`'s
 * wrapper, removal) about 2.5 µs more than this.
 */
export class AbortHandle {
  aborted = false;
  private listener: (() => void) | null = null;

  /** Sets the one listener (replacing any earlier one); null clears it. */
  onAbort(listener: (() => void) | null): void {
    this.listener = listener;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const l = this.listener;
    this.listener = null;
    l?.();
  }
}
