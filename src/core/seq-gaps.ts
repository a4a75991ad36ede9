/**
 * Which numbers of an increasing sequence a poller has not seen yet. A PostgreSQL sequence number is taken at insert
 * but its row becomes visible only at commit, so a poll can see seq N+1 while N's transaction is still open: N is a
 * gap, asked for again by every poll until its row shows up, or until `windowMs` after it was first seen (a number
 * taken by a transaction that rolled back never fills). At most `max` gaps are held: past that the oldest are
 * dropped, and `takeOverflow` tells the caller so (it then forgets everything it cached, the safe fallback).
 */
export class SeqGaps {
  /** The highest number seen. */
  private top: number;
  /** Missing numbers and when (ms) each was first missed; insertion order is oldest first. */
  private readonly gaps = new Map<number, number>();
  private overflowed = false;

  constructor(
    private readonly opts: { max: number; windowMs: number },
    last = 0,
  ) {
    this.top = last;
  }

  /** The highest number seen: a poll asks for everything above it. */
  get last(): number {
    return this.top;
  }

  /** The gaps still awaited (past the window dropped first), for the poll to ask for again. */
  awaited(now: number): number[] {
    for (const [seq, since] of this.gaps) {
      if (now - since < this.opts.windowMs) break;
      this.gaps.delete(seq);
    }
    return [...this.gaps.keys()];
  }

  /** Notes one row's number; whether it is news (above every number seen, or a gap filling) to hand on. */
  see(seq: number, now: number): boolean {
    if (seq <= this.top) return this.gaps.delete(seq);
    // Only the newest `max` numbers of a wide jump are kept: a transaction still open holds a recent one.
    const from = Math.max(this.top + 1, seq - this.opts.max);
    if (from > this.top + 1) this.overflowed = true;
    for (let s = from; s < seq; s++) this.gaps.set(s, now);
    while (this.gaps.size > this.opts.max) {
      this.gaps.delete(this.gaps.keys().next().value as number);
      this.overflowed = true;
    }
    this.top = seq;
    return true;
  }

  /** Whether gaps were dropped for the bound since the last call. */
  takeOverflow(): boolean {
    const was = this.overflowed;
    this.overflowed = false;
    return was;
  }

  get size(): number {
    return this.gaps.size;
  }
}
