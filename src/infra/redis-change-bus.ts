import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { KeyChangeListener } from '../core/ports.js';
import { REDIS_COMMAND_TIMEOUT_MS } from './redis-limit-store.js';

const CHANNEL = 'tollgate:key-changes';

/**
 * Broadcasts key, project and runtime provider changes to every instance through Redis pub/sub, so a revoke on one instance empties
 * the others' caches within milliseconds. Lost messages (Redis down) are caught by the database change feed,
 * which every instance also polls.
 */
export class RedisChangeBus implements KeyChangeListener {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly instance = randomUUID();

  constructor(
    url: string,
    private readonly local: KeyChangeListener,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.pub = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: REDIS_COMMAND_TIMEOUT_MS });
    this.sub = new Redis(url, { connectTimeout: 2000 });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
    this.sub.subscribe(CHANNEL).catch(onError);
    this.sub.on('message', (_channel: string, message: string) => {
      try {
        const m = JSON.parse(message) as { i: string; k?: string; p?: string; v?: string };
        if (m.i === this.instance) return;
        if (m.k) this.local.keyChanged(m.k);
        if (m.p) this.local.projectChanged(m.p);
        if (m.v) this.local.providerChanged?.(m.v);
      } catch (err) {
        onError(err);
      }
    });
  }

  /** Resolves once subscribed (tests and startup ordering). */
  async ready(): Promise<void> {
    for (let i = 0; i < 50 && this.sub.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20));
  }

  keyChanged(keyId: string): void {
    this.pub.publish(CHANNEL, JSON.stringify({ i: this.instance, k: keyId })).catch(this.onError);
  }

  projectChanged(projectId: string): void {
    this.pub.publish(CHANNEL, JSON.stringify({ i: this.instance, p: projectId })).catch(this.onError);
  }

  providerChanged(providerId: string): void {
    this.pub.publish(CHANNEL, JSON.stringify({ i: this.instance, v: providerId })).catch(this.onError);
  }

  async close(): Promise<void> {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
