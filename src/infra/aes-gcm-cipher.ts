import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretCipher } from '../core/ports.js';

// Runtime provider credentials at rest: AES-256-GCM (NIST SP 800-38D) under a key derived from TOLLGATE_SECRET with
// HKDF-SHA256 (RFC 5869). The info label is this use's own, so the key differs from the webhook secret box's and from
// any later use of the same server secret; the credential's id is authenticated data, so a ciphertext moved onto
// another row does not open.

/** HKDF info label of provider credentials (never reuse it for another kind of secret). */
const INFO = 'tollgate/provider-credentials/aes-256-gcm/v1';
const SALT = 'tollgate-hkdf-salt-v1';
const VERSION = 'v1';

/** Derives the 32-byte key for provider credentials from the server secret. */
export function providerCredentialKey(serverSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(serverSecret, 'utf8'), Buffer.from(SALT), Buffer.from(INFO), 32));
}

/** AES-256-GCM over `v1.<iv>.<tag>.<ciphertext>` (base64url parts), with a random 96-bit IV for each seal. */
export class AesGcmCipher implements SecretCipher {
  private readonly key: Buffer;

  constructor(serverSecret: string) {
    this.key = providerCredentialKey(serverSecret);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) throw new Error('unknown sealed format');
    const [, iv, tag, ct] = parts;
    const tagBytes = Buffer.from(tag, 'base64url');
    // A shortened tag would weaken the check (GCM accepts tags down to 4 bytes): only the full 16 bytes are taken.
    if (tagBytes.length !== 16) throw new Error('bad authentication tag');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }
}
