import { randomBase62 } from './base62.js';

export type IdPrefix = 'org-' | 'proj_' | 'key_' | 'user-' | 'svc_acct_' | 'audit_log-' | 'rl_' | 'wh_' | 'inv_' | 'evt_' | 'alert_' | 'prov_' | 'pcred_';

/** A new prefixed identifier, e.g. `proj_4fJ2…`. */
export function newId(prefix: IdPrefix, randomBytes: (n: number) => Uint8Array): string {
  return prefix + randomBase62(24, randomBytes);
}

/**
 * A source of UUIDv7 ids (RFC 9562) for a busy path: the 48-bit Unix time in ms, then random bits fixed per generator,
 * then a counter that starts at a random value (§6.2, method 2). Time-ordered, so ids made one after another land next
 * to each other in a primary-key index (usage events: appends, not random page writes); cheaper than a random UUID
 * per id (no call into the random pool; the time prefix is reused within a millisecond).
 */
export function uuidV7Source(clock: () => number, randomBytes: (n: number) => Uint8Array): () => string {
  const seed = randomBytes(8);
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  // 12 bits after the version, then the variant (10) and 14 more bits: 26 random bits fixed for this generator.
  const randA = hex(((seed[0] << 4) | (seed[1] >> 4)) & 0xfff, 3);
  const randB = hex(0x8000 | (((seed[2] << 8) | seed[3]) & 0x3fff), 4);
  let counter = (((seed[4] << 16) | (seed[5] << 8) | seed[6]) * 2 ** 24) % 2 ** 48;
  let lastMs = -1;
  let prefix = '';
  let lastHigh = -1;
  let highHex = '';
  return () => {
    const now = Math.max(0, Math.floor(clock()));
    if (now !== lastMs) {
      lastMs = now;
      const ts = hex(now, 12).slice(-12);
      prefix = `${ts.slice(0, 8)}-${ts.slice(8)}-7${randA}-${randB}-`;
    }
    counter = (counter + 1) % 2 ** 48;
    // The counter in two 24-bit halves through a table: Number#toString(16) on a value past 2^31 took V8's slow
    // path (~0.6 µs per id on the gateway's thread); the high half changes once per 2^24 ids.
    const high = Math.floor(counter / 2 ** 24);
    const low = counter - high * 2 ** 24;
    if (high !== lastHigh) {
      lastHigh = high;
      highHex = HEX3[high >> 12] + HEX3[high & 0xfff];
    }
    return prefix + highHex + HEX3[low >> 12] + HEX3[low & 0xfff];
  };
}

/** Every 12-bit value as three hex digits. */
const HEX3 = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));

/** Every byte value as two hex digits. */
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Random bytes drawn at once for request ids: 256 ids' worth. */
const REQUEST_ID_POOL = 4096;

/**
 * A source of request ids as OpenAI writes them: `req_` and 32 hex digits, 128 random bits each (unguessable, and
 * unique for every practical purpose). The random bytes are drawn 4 KB at a time and written out through a table:
 * measured (bench/request-id.ts), about half the cost of a `crypto.randomUUID()` per request, and a third of one
 * without its dashes.
 */
export function requestIdSource(randomBytes: (n: number) => Uint8Array): () => string {
  let pool = randomBytes(REQUEST_ID_POOL);
  let at = 0;
  return () => {
    if (at + 16 > pool.length) {
      pool = randomBytes(REQUEST_ID_POOL);
      at = 0;
    }
    const b = pool;
    const i = at;
    at += 16;
    return `req_${HEX2[b[i]]}${HEX2[b[i + 1]]}${HEX2[b[i + 2]]}${HEX2[b[i + 3]]}${HEX2[b[i + 4]]}${HEX2[b[i + 5]]}${HEX2[b[i + 6]]}${HEX2[b[i + 7]]}${HEX2[b[i + 8]]}${HEX2[b[i + 9]]}${HEX2[b[i + 10]]}${HEX2[b[i + 11]]}${HEX2[b[i + 12]]}${HEX2[b[i + 13]]}${HEX2[b[i + 14]]}${HEX2[b[i + 15]]}`;
  };
}
