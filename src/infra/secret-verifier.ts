import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerSecretVerifier } from '../core/ports.js';

// What the database keeps of the server secret, to refuse a start under another one (services/sealed-secrets.ts):
// `v1.<salt>.<mac>`, an HMAC-SHA256 of a fixed text under a key derived from the secret and a random salt with
// HKDF-SHA256 (RFC 5869), under a label of its own. Never the secret, nor a key that opens anything: finding the
// secret from it is a guess checked against it, as it is against any ciphertext the database holds.

const INFO = 'tollgate/server-secret-verifier/v1';
const TEXT = 'tollgate server secret verifier';

function mac(serverSecret: string, salt: Buffer): Buffer {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(serverSecret, 'utf8'), salt, Buffer.from(INFO), 32));
  return createHmac('sha256', key).update(TEXT).digest();
}

/** The verifier of one server secret. */
export function serverSecretVerifier(serverSecret: string): ServerSecretVerifier {
  return {
    make() {
      const salt = randomBytes(16);
      return ['v1', salt.toString('base64url'), mac(serverSecret, salt).toString('base64url')].join('.');
    },
    matches(stored) {
      const [version, salt, expected] = stored.split('.');
      if (version !== 'v1' || !salt || !expected) return false;
      const want = Buffer.from(expected, 'base64url');
      const got = mac(serverSecret, Buffer.from(salt, 'base64url'));
      return want.length === got.length && timingSafeEqual(want, got);
    },
  };
}
