import type { Database } from '../storage/database.js';
import type { KeyChangeListener } from '../core/ports.js';

/**
 * Polls the key_changes table and forwards each change to the listener. This is how a running server
 * learns of CLI writes and, scaled out, of other instances' writes (Redis pub/sub only makes it faster).
 */
export class ChangeFeed {
  private last = 0;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly database: Database,
    private readonly listener: KeyChangeListener,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async start(): Promise<void> {
    const row = await this.database.db
      .selectFrom('key_changes')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    this.last = Number(row?.seq ?? 0);
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** One poll; exported for tests. Errors (database down) are reported and retried next tick. */
  async poll(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      const rows = await this.database.db
        .selectFrom('key_changes')
        .select(['seq', 'key_id'])
        .where('seq', '>', this.last)
        .orderBy('seq')
        .limit(10_000)
        .execute();
      for (const r of rows) {
        // Projects and the organization (its own limits) invalidate policies; runtime providers (and their credentials)
        // reload the provider directory; anything else is a key.
        if (r.key_id.startsWith('proj_') || r.key_id.startsWith('org-')) this.listener.projectChanged(r.key_id);
        else if (r.key_id.startsWith('prov_')) this.listener.providerChanged?.(r.key_id);
        else this.listener.keyChanged(r.key_id);
        this.last = Number(r.seq);
      }
      return rows.length;
    } catch (err) {
      this.onError(err);
      return 0;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
