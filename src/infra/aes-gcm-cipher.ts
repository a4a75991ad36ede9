import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretCipher } from '../core/ports.js';

// Secrets Tollgate must use again (runtime providers' keys, webhook signing secrets) at rest: AES-256-GCM (NIST SP
// 800-38D) under a key derived from the server secret with HKDF-SHA256 (RFC 5869). Each use has its own info label, so
// its key is its own; what the caller binds (the row's context) is authenticated data, so a ciphertext moved onto
// another row, or left on a row whose binding changed, does not open. Only the full 16-byte tag is taken.
//
// `v2.<iv>.<tag>.<ciphertext>` (base64url parts) is written; the AAD is `v2\n<context>`. The first format, `v1.…`, is
// still read: provider keys' (the same key, bound to the credential id alone) and webhook signing secrets' (the former
// secret box: a SHA-256 of the server secret as key, nothing bound).

/** HKDF info label of provider credentials (never reuse it for another kind of secret). */
export const PROVIDER_CREDENTIALS = 'tollgate/provider-credentials/aes-256-gcm/v1';
/** HKDF info label of webhook signing secrets. */
export const WEBHOOK_SIGNING_SECRETS = 'tollgate/webhook-signing-secrets/aes-256-gcm/v1';
const SALT = 'tollgate-hkdf-salt-v1';
const TAG_BYTES = 16;

/** Derives the 32-byte key of one use (its HKDF info label) from the server secret. */
export function derivedKey(serverSecret: string, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(serverSecret, 'utf8'), Buffer.from(SALT), Buffer.from(label), 32));
}

/** How a use's first-format (v1) ciphertexts are read. */
type FirstFormat = { key: Buffer; bound: boolean };

/** AES-256-GCM with a random 96-bit IV for each seal. */
export class AesGcmCipher implements SecretCipher {
  private constructor(
    private readonly key: Buffer,
    private readonly v1: FirstFormat,
  ) {}

  /** Provider credentials' cipher: v1 was the same key, bound to the credential id. */
  static forProviderCredentials(serverSecret: string): AesGcmCipher {
    const key = derivedKey(serverSecret, PROVIDER_CREDENTIALS);
    return new AesGcmCipher(key, { key, bound: true });
  }

  /** Webhook signing secrets' cipher: v1 was the former secret box (SHA-256 of the server secret, nothing bound). */
  static forWebhookSecrets(serverSecret: string): AesGcmCipher {
    const legacy = createHash('sha256').update(`tollgate-secret-box:${serverSecret}`).digest();
    return new AesGcmCipher(derivedKey(serverSecret, WEBHOOK_SIGNING_SECRETS), { key: legacy, bound: false });
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`v2\n${context}`, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, context: string, v1Context?: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4) throw new Error('unknown sealed format');
    const [version, iv, tag, ct] = parts;
    if (version === 'v2') return decrypt(this.key, iv, tag, ct, `v2\n${context}`);
    if (version !== 'v1') throw new Error('unknown sealed format');
    if (!this.v1.bound) return decrypt(this.v1.key, iv, tag, ct, null);
    if (v1Context === undefined) throw new Error('first-format ciphertext not accepted here');
    return decrypt(this.v1.key, iv, tag, ct, v1Context);
  }

  isCurrent(sealed: string): boolean {
    return sealed.startsWith('v2.');
  }
}

function decrypt(key: Buffer, iv: string, tag: string, ct: string, aad: string | null): string {
  const tagBytes = Buffer.from(tag, 'base64url');
  // A shortened tag would weaken the check (GCM takes tags down to 4 bytes): only the full 16 bytes are taken.
  if (tagBytes.length !== TAG_BYTES) throw new Error('bad authentication tag');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
  if (aad !== null) decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tagBytes);
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
