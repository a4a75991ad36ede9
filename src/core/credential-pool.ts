import { providerError } from './provider-error.js';
import { parseHttpDate, parseRfc3339 } from './header-times.js';

// A provider's credentials, when it has several (issue 20 §3): each request picks one by weight among those neither
// cooling down for the request's model (after a 429 for it, for as long as the provider said), nor set aside for the
// request's provider project (its account out of quota), nor disabled (after the provider refused the key, a 401), nor
// set aside for what the request asks (after the provider refused this kind of request with it and let it through
// with another), and a failed attempt moves on to another. Time and randomness are passed in.

/**
 * Whether a provider's 401 or 403 by itself shows the credential refused (a wrong, revoked or expired key), as opposed
 * to possibly this request. A client chooses what it asks for, and providers refuse some requests whatever the key: OpenAI's billing
 * endpoints (403 "must be made with a session key"), an endpoint outside a restricted provider key's scopes (401
 * "insufficient permissions … Missing scopes"), a resource the account may not use (Anthropic's 403 permission_error).
 * Disabling a credential on those let any client disable every key of a provider with one request. So a 403, which
 * refuses the request (RFC 9110 §15.5.4), is not taken as the key's refusal by itself, and a 401 is unless it speaks of
 * permissions or scopes. (A 403's words are not searched for "key revoked" and the like: providers quote the client's
 * path in them.) The ambiguous ones are judged by the provider's other keys (providers/http-upstream.ts): a key refused
 * where another is let through is set aside for that kind of request only (`refusalScope`), since operators pool keys
 * of unequal reach (one for every model, one for a few). Even a refusal of the key disables it only once another key is
 * let through for the same request: a provider may answer a request the client chose 401 whatever the key.
 */
export function refusesCredential(status: number, body: string): boolean {
  return status === 401 && !/permission|scope/i.test(body.slice(0, 4096));
}

/** OpenAI's 401 codes for a key sent with an OpenAI-Project or OpenAI-Organization it does not belong to. */
const OTHER_PROJECT_CODES = new Set(['mismatched_project', 'mismatched_organization']);

/**
 * Whether a provider's 401 refuses the key for the provider project it was sent for (a `projects` mapping naming a
 * project the key is not of), not the key: it serves its own project still, so it is set aside for that provider
 * project only, never disabled (one team's request disabled a project key for every team: found by a review).
 */
export function refusesForProject(status: number, body: string): boolean {
  const e = status === 401 ? providerError(body) : null;
  return e !== null && e.code !== null && OTHER_PROJECT_CODES.has(e.code);
}

/** OpenAI's 401 codes that say the key itself is dead: wrong or revoked (`invalid_api_key`), its account closed. */
const DEAD_KEY_CODES = new Set(['invalid_api_key', 'account_deactivated']);
/** Azure OpenAI's 401 for a wrong key (its `code` is the status, so the fixed sentence is what tells it apart). */
const AZURE_DEAD_KEY = 'Access denied due to invalid subscription key';

/**
 * Whether a provider's answer says, in its error object's fixed fields, that the key it was sent is invalid, in a way
 * no client request can bring about for a valid key: OpenAI's 401 `invalid_api_key` or `account_deactivated` (the
 * `code` field), Anthropic's 401 `authentication_error` "invalid x-api-key" (type and its fixed message), Azure
 * OpenAI's 401 "Access denied due to invalid subscription key…" (code "401" and that sentence, which quotes nothing).
 * A client reaches the provider only through forwarded bodies and an allowlist of headers (forward-headers.ts: never
 * the key, OpenAI-Organization or OpenAI-Project), none of which makes the provider question the key: OpenAI's
 * `mismatched_organization`, Anthropic's OAuth messages ("Invalid bearer token") and the permission 401s are left out
 * on purpose. Unlike refusesCredential it needs no witness: it lets a sole key's death be reported (never disabled).
 */
export function provesCredentialInvalid(status: number, body: string): boolean {
  const e = status === 401 ? providerError(body) : null;
  if (e === null) return false;
  if (e.code !== null && DEAD_KEY_CODES.has(e.code)) return true;
  if (e.type === 'authentication_error' && e.message === 'invalid x-api-key') return e.envelope === 'error';
  return e.code === '401' && e.message.startsWith(AZURE_DEAD_KEY);
}

export interface PoolCredential {
  /** Not secret: the name of the environment variable that holds it. */
  id: string;
  weight: number;
}

/** Cool-down when a 429 says nothing of how long, and the longest one a provider's headers are believed for. */
export const DEFAULT_COOL_DOWN_MS = 1000;
export const MAX_COOL_DOWN_MS = 10 * 60_000;

/** How long a credential refused for one kind of request, where another was let through, is skipped for it. */
export const DEFAULT_REFUSAL_COOL_DOWN_MS = 3_600_000;

/**
 * Set-asides (and cool-downs, and quota set-asides) kept per pool, past which the oldest go, and the longest scope or
 * model kept (a model's name is the client's to choose, and a lenient server may serve any): a set-aside needs a
 * refusal witnessed by another key to be made, a cool-down a 429 the request did not bring on itself, and one not kept
 * only costs its key a refused attempt on the next such request.
 */
export const MAX_SET_ASIDES = 1000;
const MAX_SCOPE_LENGTH = 512;

/**
 * What a refusal of the request (a 403, a 401 about permissions) is taken to be about, so that the key is set aside
 * for that only: the model on that endpoint (`POST /chat/completions gpt-4o`), or the endpoint alone when the request
 * names no model. `route` is the API's template of the path (`/files/{file_id}`), so one object's id is not a scope of
 * its own. Narrow on purpose: a client that found a request one key refuses and another serves (a feature only one
 * key's account has) sets that key aside for that model on that endpoint, not for the model everywhere.
 */
export function refusalScope(method: string, route: string, model: string | null | undefined): string {
  return model ? `${method} ${route} ${model}` : `${method} ${route}`;
}

export class CredentialPool<C extends PoolCredential = PoolCredential> {
  private readonly disabledAt = new Map<string, number>();
  /** `${credential id}\n${scope}` → until when that credential is skipped for that scope (refusalScope). */
  private readonly setAside = new Map<string, number>();
  /**
   * Rate-limit cool-downs: `${credential id}\t${model}` (or `\n${scope}` for a request naming no model) → until when.
   * A provider's limits are per model (OpenAI) or model class (Anthropic): a client exhausting one model must not take
   * the key away from another model's clients. The tab keeps a model's key apart from a scope's (an id has neither).
   */
  private readonly cooling = new Map<string, number>();
  /** `${credential id}\n${provider project}` → until when its account is taken as out of quota (insufficient_quota). */
  private readonly outOfQuota = new Map<string, number>();

  constructor(
    readonly credentials: readonly C[],
    private readonly now: () => number,
    private readonly random: () => number,
  ) {}

  /**
   * A credential for the next attempt, by weight among the ones usable for the request (`scope`: refusalScope; `model`:
   * the model it runs; `project`: the provider project it is made in) not in `tried`; when none is (all cooling down,
   * set aside or disabled), the one usable first, then the one disabled longest ago, so that a request is always tried
   * once (a provider whose only key is refused still answers, and the refusal is seen). Null once every credential has
   * been tried.
   */
  pick(tried: ReadonlySet<string>, scope: string | null = null, model: string | null = null, project: string | null = null): C | null {
    const now = this.now();
    let total = 0;
    const usable: C[] = [];
    for (const c of this.credentials) {
      if (tried.has(c.id) || this.disabledAt.has(c.id) || this.waitOf(c.id, scope, model, project, now) > now) continue;
      usable.push(c);
      total += c.weight;
    }
    if (usable.length > 0) {
      let r = this.random() * total;
      for (const c of usable) {
        r -= c.weight;
        if (r < 0) return c;
      }
      return usable[usable.length - 1];
    }
    if (tried.size > 0) return null;
    let best: C | null = null;
    let bestAt = Number.POSITIVE_INFINITY;
    for (const c of this.credentials) {
      const at = this.disabledAt.has(c.id) ? Number.MAX_SAFE_INTEGER + (this.disabledAt.get(c.id) as number) : this.waitOf(c.id, scope, model, project, now);
      if (at < bestAt) {
        best = c;
        bestAt = at;
      }
    }
    return best;
  }

  /** Whether a credential not in `tried` is usable now for the request (another attempt is worth making). */
  hasUsable(tried: ReadonlySet<string>, scope: string | null = null, model: string | null = null, project: string | null = null): boolean {
    const now = this.now();
    return this.credentials.some((c) => !tried.has(c.id) && !this.disabledAt.has(c.id) && this.waitOf(c.id, scope, model, project, now) <= now);
  }

  /**
   * Until when a credential is not usable for the request: the latest of its cool-down for the model, its account's
   * quota set-aside and its set-aside for the scope (past: usable). The maps are looked in only when not empty (most of
   * the time they are), so a request costs no key to build.
   */
  private waitOf(id: string, scope: string | null, model: string | null, project: string | null, now: number): number {
    let until = 0;
    if (this.cooling.size > 0) {
      const key = coolingKey(id, model, scope);
      if (key !== null) until = live(this.cooling, key, now);
    }
    if (this.outOfQuota.size > 0) until = Math.max(until, live(this.outOfQuota, `${id}\n${project ?? ''}`, now));
    if (scope !== null && this.setAside.size > 0 && scope.length <= MAX_SCOPE_LENGTH) until = Math.max(until, live(this.setAside, `${id}\n${scope}`, now));
    return until;
  }

  /**
   * Sets a credential aside for one scope (refusalScope) for `ms`: the provider refused it that request, and let
   * another credential through. It keeps serving every other scope. True when it was not set aside already (false
   * too for a scope too long to keep).
   */
  setAsideFor(id: string, scope: string, ms: number): boolean {
    if (scope.length > MAX_SCOPE_LENGTH) return false;
    return renew(this.setAside, `${id}\n${scope}`, this.now(), Math.max(ms, 0));
  }

  /**
   * Cools a credential down for one model (or, for a request naming none, its scope) for `ms`, at most
   * MAX_COOL_DOWN_MS: the provider said the key reached its limit for it. Its other models go on as before.
   */
  coolDownFor(id: string, model: string | null, scope: string, ms: number): void {
    const key = coolingKey(id, model, scope);
    if (key !== null) renew(this.cooling, key, this.now(), Math.min(Math.max(ms, 0), MAX_COOL_DOWN_MS));
  }

  /**
   * Sets a credential aside for every request of one provider project (null: none mapped) for `ms`: the provider said
   * its account (or that project) is out of quota. True when it was not set aside already.
   */
  setAsideForQuota(id: string, project: string | null, ms: number): boolean {
    return renew(this.outOfQuota, `${id}\n${project ?? ''}`, this.now(), Math.max(ms, 0));
  }

  /**
   * Ends a credential's set-aside for the request's scope, its cool-down for the model and its quota set-aside for the
   * project early: it was tried anyway (none other usable) and served the request. Costs nothing while there are none.
   */
  servedFor(id: string, scope: string, model: string | null = null, project: string | null = null): void {
    if (this.setAside.size > 0) this.setAside.delete(`${id}\n${scope}`);
    if (this.cooling.size > 0) {
      const key = coolingKey(id, model, scope);
      if (key !== null) this.cooling.delete(key);
    }
    if (this.outOfQuota.size > 0) this.outOfQuota.delete(`${id}\n${project ?? ''}`);
  }

  /** Whether a credential is set aside for `scope` now. */
  isSetAsideFor(id: string, scope: string): boolean {
    return (this.setAside.get(`${id}\n${scope}`) ?? 0) > this.now();
  }

  /** Milliseconds until a credential is usable again for a model (or a scope naming none); 0 when it is. */
  coolingFor(id: string, model: string | null, scope: string | null = null): number {
    const key = coolingKey(id, model, scope);
    return key === null ? 0 : Math.max(0, (this.cooling.get(key) ?? 0) - this.now());
  }

  /** Whether a credential is set aside for quota now, for any provider project (for /metrics: not usable). */
  isOutOfQuota(id: string): boolean {
    const now = this.now();
    const prefix = `${id}\n`;
    for (const [key, until] of this.outOfQuota) if (until > now && key.startsWith(prefix)) return true;
    return false;
  }

  /** Disables a credential (the provider refused it); true the first time. */
  disable(id: string): boolean {
    if (this.disabledAt.has(id)) return false;
    this.disabledAt.set(id, this.now());
    return true;
  }

  isDisabled(id: string): boolean {
    return this.disabledAt.has(id);
  }
}

/** A cool-down's key (see CredentialPool.cooling), or null for a scope too long to keep (or none). */
function coolingKey(id: string, model: string | null, scope: string | null): string | null {
  if (model !== null) return model.length <= MAX_SCOPE_LENGTH ? `${id}\t${model}` : null;
  return scope !== null && scope.length <= MAX_SCOPE_LENGTH ? `${id}\n${scope}` : null;
}

/** Until when `key` is set in `map`, forgetting it once past (0 when none). */
function live(map: Map<string, number>, key: string, now: number): number {
  const until = map.get(key);
  if (until === undefined) return 0;
  if (until <= now) {
    map.delete(key);
    return 0;
  }
  return until;
}

/**
 * Sets `key` until `now + ms`, re-inserted so that Map order stays oldest first, and keeps the map to MAX_SET_ASIDES
 * (past ones go, then the oldest: a model's name or a scope is the client's to choose). True when it was not set.
 */
function renew(map: Map<string, number>, key: string, now: number, ms: number): boolean {
  const was = (map.get(key) ?? 0) > now;
  map.delete(key);
  map.set(key, now + ms);
  if (map.size > MAX_SET_ASIDES) {
    for (const [k, until] of map) if (until <= now) map.delete(k);
    for (const k of map.keys()) {
      if (map.size <= MAX_SET_ASIDES) break;
      map.delete(k);
    }
  }
  return !was;
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** OpenAI's reset durations (`1s`, `6m0s`, `20ms`, `1h2m3.5s`), in milliseconds, or null. */
function durationMs(v: string): number | null {
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(v)) return null;
  let ms = 0;
  for (const m of v.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

const header = (h: Record<string, string | string[] | undefined>, name: string): string | null => {
  const v = h[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() ? s.trim() : null;
};

/**
 * How long a 429 asks to wait, from its headers: `retry-after` as RFC 9110 defines it (delta-seconds: digits; or an
 * HTTP-date), else the longest of OpenAI's `x-ratelimit-reset-*` durations and Anthropic's `anthropic-ratelimit-*-reset`
 * times (RFC 3339); DEFAULT_COOL_DOWN_MS when none says. A value outside its grammar says nothing, so the others and the
 * default apply: Date.parse took a retry-after of '-1' for 2001-01-01, a cool-down of 0 ms that hid the reset headers
 * beside it (found by an outside review). `nowMs` is the wall clock (for the dates).
 */
export function coolDownMs(h: Record<string, string | string[] | undefined>, nowMs: number): number {
  const after = header(h, 'retry-after');
  if (after !== null) {
    if (/^\d+$/.test(after)) return Number(after) * 1000;
    const at = parseHttpDate(after, nowMs);
    if (at !== null) return Math.max(0, at - nowMs);
  }
  let longest: number | null = null;
  for (const name in h) {
    const v = header(h, name);
    if (v === null) continue;
    let ms: number | null = null;
    if (name.startsWith('x-ratelimit-reset-')) ms = durationMs(v);
    else if (name.startsWith('anthropic-ratelimit-') && name.endsWith('-reset')) {
      const at = parseRfc3339(v);
      ms = at === null ? null : Math.max(0, at - nowMs);
    }
    if (ms !== null && (longest === null || ms > longest)) longest = ms;
  }
  return longest ?? DEFAULT_COOL_DOWN_MS;
}
