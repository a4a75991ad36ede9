import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// Secrets Tollgate must be able to use again (webhook signing secrets) are stored encrypted with AES-256-GCM under a
// key derived from the server secret. API keys are never stored this way: only their digest.

function keyOf(serverSecret: string): Buffer {
  return createHash('sha256').update(`tollgate-secret-box:${serverSecret}`).digest();
}

/** Encrypts to `v1.<iv>.<tag>.<ciphertext>` (base64url parts). */
export function seal(serverSecret: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(serverSecret), iv);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
}

/** Decrypts what `seal` produced; throws if it was tampered with or the server secret differs. */
export function open(serverSecret: string, sealed: string): string {
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unknown sealed format');
  const decipher = createDecipheriv('aes-256-gcm', keyOf(serverSecret), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
