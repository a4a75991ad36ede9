import type { SecretCipher, ServerSecretVerifier } from '../core/ports.js';
import type { Database } from '../storage/database.js';

// The secrets sealed under the server secret (runtime providers' keys, webhook signing secrets): what each is bound
// to, the check at every start that the server secret is the one the database was set up with, and the sealing again
// of rows written in the first format.
//
// Found by a review of secrets at rest: any secret was taken. The local CLI run from another directory on the
// server's PostgreSQL made a secret of its own and sealed provider keys under it, answering "Added key …"; the server
// could not open them (503 "has no usable key") and nothing said why but a log line. Now the database keeps a verifier
// of its secret (settings `server_secret_verifier`, written by the first start) and a start under another is refused.

/** What a provider key is bound to: its credential, its provider and the URL its key is sent to (docs/providers.md). */
export function providerCredentialContext(credentialId: string, providerId: string, baseUrl: string): string {
  return JSON.stringify(['provider_credential', credentialId, providerId, baseUrl]);
}

/** What a webhook signing secret is bound to: its endpoint. */
export function webhookSecretContext(webhookId: string): string {
  return JSON.stringify(['webhook_signing_secret', webhookId]);
}

/** A provider key's plaintext, opened bound to the provider row its credential names now (v1: to the credential alone). */
export function openProviderCredential(cipher: SecretCipher, credential: { id: string; secret_ciphertext: string }, provider: { id: string; base_url: string }): string {
  return cipher.open(credential.secret_ciphertext, providerCredentialContext(credential.id, provider.id, provider.base_url), credential.id);
}

/** The ciphers of the secrets sealed under the server secret. */
export interface SealedSecretCiphers {
  providerCredentials: SecretCipher;
  webhookSecrets: SecretCipher;
}

const VERIFIER = 'server_secret_verifier';
/** Sealed rows tried on a database without a verifier (one that opens is enough). */
const PROBED = 50;

/**
 * `matches`: the database's verifier is of this secret. `recorded`: it had none and now has this secret's (nothing was
 * sealed there, or this secret opens some of it). `differs`: its verifier is of another secret. `opens_nothing`: it had
 * none, and this secret opens none of what is sealed there.
 */
export type ServerSecretCheck = 'matches' | 'recorded' | 'differs' | 'opens_nothing';

/**
 * Checks the server secret against the database's verifier, writing one when there is none. A database from before
 * the verifier takes the secret only if it opens something sealed there, or nothing is sealed there yet: where some
 * rows open and others do not (sealed under another secret already), the first start to open some wins.
 */
export async function checkServerSecret(database: Database, verifier: ServerSecretVerifier, ciphers: SealedSecretCiphers): Promise<ServerSecretCheck> {
  const db = database.db;
  const stored = await db.selectFrom('settings').select('value').where('name', '=', VERIFIER).executeTakeFirst();
  if (stored) return verifier.matches(stored.value) ? 'matches' : 'differs';
  if ((await opensSealed(database, ciphers)) === false) return 'opens_nothing';
  // Two first starts at once: one verifier is written, and the other start is checked against it.
  await db.insertInto('settings').values({ name: VERIFIER, value: verifier.make() }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const written = await db.selectFrom('settings').select('value').where('name', '=', VERIFIER).executeTakeFirstOrThrow();
  return verifier.matches(written.value) ? 'recorded' : 'differs';
}

/** Whether the secret opens some of what is sealed in the database (null: nothing is). */
async function opensSealed(database: Database, ciphers: SealedSecretCiphers): Promise<boolean | null> {
  const db = database.db;
  const credentials = await db
    .selectFrom('provider_credentials as c')
    .innerJoin('runtime_providers as p', 'p.id', 'c.provider_id')
    .select(['c.id as id', 'c.secret_ciphertext as secret_ciphertext', 'p.id as provider_id', 'p.base_url as base_url'])
    .orderBy('c.seq')
    .limit(PROBED)
    .execute();
  const webhooks = await db.selectFrom('webhooks').select(['id', 'secret_encrypted']).orderBy('seq').limit(PROBED).execute();
  if (credentials.length === 0 && webhooks.length === 0) return null;
  const opens = (fn: () => string) => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };
  return (
    credentials.some((c) => opens(() => openProviderCredential(ciphers.providerCredentials, c, { id: c.provider_id, base_url: c.base_url }))) ||
    webhooks.some((w) => opens(() => ciphers.webhookSecrets.open(w.secret_encrypted, webhookSecretContext(w.id))))
  );
}

/**
 * Seals again, in the current format, the rows still in the first (v1: provider keys bound to their credential id
 * alone, webhook signing secrets bound to nothing), each to what it is bound to now; a row that does not open is left
 * as it is (shown as undecryptable), and one changed meanwhile is left to that change. The plaintext is unchanged:
 * nothing is audited. Called at each start (a migration cannot: it has no secret), so rows an earlier version wrote
 * meanwhile are sealed again at the next.
 */
export async function resealFirstFormat(database: Database, ciphers: SealedSecretCiphers): Promise<{ credentials: number; webhooks: number }> {
  const db = database.db;
  const done = { credentials: 0, webhooks: 0 };
  const credentials = await db
    .selectFrom('provider_credentials as c')
    .innerJoin('runtime_providers as p', 'p.id', 'c.provider_id')
    .select(['c.id as id', 'c.secret_ciphertext as secret_ciphertext', 'p.id as provider_id', 'p.base_url as base_url'])
    .where('c.secret_ciphertext', 'like', 'v1.%')
    .execute();
  for (const c of credentials) {
    let plaintext: string;
    try {
      plaintext = openProviderCredential(ciphers.providerCredentials, c, { id: c.provider_id, base_url: c.base_url });
    } catch {
      continue;
    }
    const sealed = ciphers.providerCredentials.seal(plaintext, providerCredentialContext(c.id, c.provider_id, c.base_url));
    const res = await db.updateTable('provider_credentials').set({ secret_ciphertext: sealed }).where('id', '=', c.id).where('provider_id', '=', c.provider_id).where('secret_ciphertext', '=', c.secret_ciphertext).executeTakeFirst();
    done.credentials += Number(res.numUpdatedRows);
  }
  const webhooks = await db.selectFrom('webhooks').select(['id', 'secret_encrypted']).where('secret_encrypted', 'like', 'v1.%').execute();
  for (const w of webhooks) {
    const context = webhookSecretContext(w.id);
    let plaintext: string;
    try {
      plaintext = ciphers.webhookSecrets.open(w.secret_encrypted, context);
    } catch {
      continue;
    }
    const sealed = ciphers.webhookSecrets.seal(plaintext, context);
    const res = await db.updateTable('webhooks').set({ secret_encrypted: sealed }).where('id', '=', w.id).where('secret_encrypted', '=', w.secret_encrypted).executeTakeFirst();
    done.webhooks += Number(res.numUpdatedRows);
  }
  return done;
}
