import { createHash, timingSafeEqual } from 'node:crypto';
import { randomBase62 } from '../core/base62.js';
import type { SetupTokenFile } from '../core/ports.js';
import type { Executor, ServiceDeps } from './context.js';

// First-run ownership, as Jenkins' initial admin password and GitLab's initial root password do it: until the
// organization has an owner, creating one needs a one-time setup token that only the operator can read. The
// database holds its SHA-256 digest (`settings`), so every instance on one database checks the same token; the
// plaintext exists only in the start-up banner and data dir of the instance that generated it, or in
// TOLLGATE_SETUP_TOKEN. Once an account exists the digest is deleted and the token is void.

const TOKEN_DIGEST = 'setup.token_sha256';
// Taken by the first account in the transaction that creates it; its primary key makes "first" atomic across
// instances and databases. A claim committed without its account (a crash between the two, before they shared a
// transaction) counts for nothing: the accounts decide whether the slot is open.
const OWNER_CLAIM = 'dashboard.owner_claimed';
/** Generated tokens: 32 base62 characters (~190 bits), easy to copy from a terminal. */
const GENERATED_TOKEN = /^[0-9A-Za-z]{32}$/;

/** This instance's copy of the token (the file `setup-token` in the data dir, mode 0600). */
export type { SetupTokenFile };

/** What this instance knows of the setup token at start. */
export type SetupTokenState =
  /** An account exists: no token is needed or accepted. */
  | { kind: 'claimed' }
  /** The token, from this instance's data dir (generated here) or from TOLLGATE_SETUP_TOKEN. */
  | { kind: 'here'; token: string; source: 'generated' | 'environment' }
  /** Another instance on this database generated it: it is in that instance's banner and data dir. */
  | { kind: 'elsewhere' };

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether creating the first (owner) account is still open: no account has a password yet. */
export async function isOwnerSignupOpen(deps: ServiceDeps): Promise<boolean> {
  const withPassword = await deps.database.db.selectFrom('users').select('id').where('password_hash', 'is not', null).executeTakeFirst();
  return !withPassword;
}

/**
 * Takes the first-account slot for `email` in `trx`, the transaction that creates the account, so that the claim
 * commits with it or not at all; false when another sign-up holds it. Its first statement writes, so SQLite takes the
 * write lock at once (no snapshot read before it to go stale). On PostgreSQL a concurrent claim waits on the unique
 * key until the first commits (then inserts nothing) or rolls back (then inserts). A claim left without an account
 * is removed first; two sign-ups removing it at once wait on its row lock, and the second then finds the first's.
 */
export async function claimOwnerSlot(trx: Executor, email: string): Promise<boolean> {
  await trx
    .deleteFrom('settings')
    .where('name', '=', OWNER_CLAIM)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('users').select('id').where('password_hash', 'is not', null))))
    .execute();
  const res = await trx
    .insertInto('settings')
    .values({ name: OWNER_CLAIM, value: email })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

async function storedDigest(deps: ServiceDeps): Promise<string | null> {
  const row = await deps.database.db.selectFrom('settings').select('value').where('name', '=', TOKEN_DIGEST).executeTakeFirst();
  return row?.value ?? null;
}

/**
 * Makes sure a setup token exists while the owner account is unclaimed, and says where it is. TOLLGATE_SETUP_TOKEN
 * (`configured`) replaces any other. Otherwise the token in this data dir is used if the database has none; failing
 * both, one is generated and written there first, then its digest inserted unless another instance's is already in
 * (instances may start together: the first digest stays, the other instances remove their own copies).
 */
export async function provisionSetupToken(deps: ServiceDeps, file: SetupTokenFile, configured: string | undefined): Promise<SetupTokenState> {
  if (!(await isOwnerSignupOpen(deps))) {
    await voidSetupToken(deps, file);
    return { kind: 'claimed' };
  }
  const db = deps.database.db;
  if (configured) {
    await db
      .insertInto('settings')
      .values({ name: TOKEN_DIGEST, value: digest(configured) })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: digest(configured) }))
      .execute();
    file.remove(); // a token generated before the variable was set is not the one any more
    return { kind: 'here', token: configured, source: 'environment' };
  }
  let local = file.read();
  if (local !== null && !GENERATED_TOKEN.test(local)) local = null; // not a token this code wrote: make a new one
  if ((await storedDigest(deps)) === null) {
    if (!local) {
      local = randomBase62(32, deps.randomBytes);
      file.write(local);
    }
    await db
      .insertInto('settings')
      .values({ name: TOKEN_DIGEST, value: digest(local) })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
  if (local && (await isSetupTokenValid(deps, local))) return { kind: 'here', token: local, source: 'generated' };
  if (local) file.remove();
  return { kind: 'elsewhere' };
}

/** Whether `presented` is the current setup token (digests compared in constant time). */
export async function isSetupTokenValid(deps: ServiceDeps, presented: string): Promise<boolean> {
  const stored = await storedDigest(deps);
  if (stored?.length !== 64) return false;
  return timingSafeEqual(Buffer.from(digest(presented), 'hex'), Buffer.from(stored, 'hex'));
}

/** Voids the token: its digest leaves the database and this instance's copy is removed. */
export async function voidSetupToken(deps: ServiceDeps, file: SetupTokenFile | null): Promise<void> {
  await deps.database.db.deleteFrom('settings').where('name', '=', TOKEN_DIGEST).execute();
  file?.remove();
}

/**
 * Removes this instance's copy once the token it holds is no longer the current one (an account was created through
 * another instance, or TOLLGATE_SETUP_TOKEN replaced it there). Checks every `intervalMs`; returns the stop function.
 */
export function watchSetupToken(
  deps: ServiceDeps,
  file: SetupTokenFile,
  token: string,
  intervalMs: number,
  onError: (err: unknown) => void,
): () => void {
  const timer = setInterval(() => {
    isSetupTokenValid(deps, token)
      .then(async (valid) => {
        if (valid && (await isOwnerSignupOpen(deps))) return;
        clearInterval(timer);
        file.remove();
      })
      .catch(onError);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
