/** Base62 alphabet used by secrets and IDs: digits, upper, lower (URL- and copy-safe). */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Encodes random bytes into `length` base62 characters, without modulo bias (rejection sampling). */
export function randomBase62(length: number, randomBytes: (n: number) => Uint8Array): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(Math.max(16, length * 2));
    for (const b of bytes) {
      // 248 = 62 * 4: values above would over-weight the first characters.
      if (b < 248) out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Fixed-width base62 encoding of a non-negative integer (left-padded with '0'). */
export function encodeBase62(value: number, width: number): string {
  let v = value;
  let out = '';
  while (v > 0) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, '0');
}
