// What each instance holds in flight on the shared limit store (Redis), recorded under a lease, and given back once
// the lease lapses: the keys' names and the scripts that take and sweep leases (redis-limit-store.ts runs them).

/** The key of a counter's epoch, beside the counter's. */
export const EPOCH_SUFFIX = ':e';
/**
 * The key of what requests in flight reserved of a counter (budgets' reservations not yet settled), beside the
 * counter's; removed when nothing is in flight.
 */
export const RESERVED_SUFFIX = ':r';

/**
 * What an instance holds in flight is recorded under a lease (see RedisLimitStore.sweep): renewed every
 * LEASE_RENEW_MS, lapsed LEASE_TTL_MS after its last renewal. Each renewal also looks for lapsed leases. A killed
 * instance's reservations are so given back within LEASE_TTL_MS + LEASE_RENEW_MS; an instance paused longer than
 * LEASE_TTL_MS (its event loop blocked) loses its lease safely: see LEASES below.
 */
export const LEASE_RENEW_MS = 2_000;
export const LEASE_TTL_MS = 6_000;

/**
 * Reservations in flight, per instance lease: a hash, at `<prefix>held:<token>`, of `<epoch>|<counter key>` → what
 * requests of that lease reserved there and have not settled, kept in step by the scripts that reserve (ACQUIRE),
 * settle (ADJUST) and cancel (CANCEL), in the same call: no round trip of its own. The lease is `<prefix>lease:<token>`,
 * and `<prefix>leases` lists the tokens. A lease is never taken again once lapsed: an instance that finds its own gone
 * (a renewal, or an acquire, answered so) takes a new token. So a hash is written only while its lease holds, SWEEP
 * gives a lapsed one back and deletes it in one atomic step (exactly once, however many instances sweep at once), and a
 * settle that finds its reservation no longer in its hash knows it was given back: it counts what its request used and
 * releases nothing (a slow instance, alive after its lease lapsed, never gives a reservation back twice).
 */
export const LEASES = 'leases';

/** The Lua that gives back what a lapsed lease's hash holds (`token`, `held`, `lease` are Lua variables in scope). */
const GIVE_BACK = `
  local f = redis.call('HGETALL', held)
  for i = 1, #f, 2 do
    local bar = string.find(f[i], '|', 1, true)
    local epoch = string.sub(f[i], 1, bar - 1)
    local key = string.sub(f[i], bar + 1)
    -- A counter lost, or seeded again since (another epoch), never held it: left alone, as a settle leaves it.
    if redis.call('EXISTS', key) == 1 and (redis.call('GET', key .. '${EPOCH_SUFFIX}') or '') == epoch then
      redis.call('DECRBY', key, f[i + 1])
      if redis.call('DECRBY', key .. '${RESERVED_SUFFIX}', f[i + 1]) <= 0 then redis.call('DEL', key .. '${RESERVED_SUFFIX}') end
    end
    given = given + 1
  end
  redis.call('DEL', held, lease)
  redis.call('SREM', KEYS[1], token)
`;

/**
 * Gives back the reservations of every lapsed lease (and of ARGV[2]'s, when given: a clean stop's own). KEYS[1] is the
 * list of leases, ARGV[1] the prefix. The hashes and leases it reads are named by the list, not passed as keys: the
 * limit store runs on one Redis server (no cluster), as its other scripts' marks and epochs do.
 */
export const SWEEP = `
local given = 0
for _, token in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local lease = ARGV[1] .. 'lease:' .. token
  local held = ARGV[1] .. 'held:' .. token
  if token == ARGV[2] or redis.call('EXISTS', lease) == 0 then
${GIVE_BACK}
  end
end
return given
`;

/** Takes lease ARGV[1] (KEYS[1]) for ARGV[2] ms, listed in KEYS[2]. */
export const REGISTER = `
redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[2]))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;

/** What separates a counter's epoch from the token of the lease its reservation was recorded under (see LEASES). */
export const LEASE_MARK = '@';

/** A settle's epoch and the lease token it names, or a null token for an epoch without one. */
export function leasedEpoch(named: string | undefined): { epoch: string; token: string | null } {
  const at = named?.lastIndexOf(LEASE_MARK) ?? -1;
  if (named === undefined || at < 0) return { epoch: named ?? '', token: null };
  return { epoch: named.slice(0, at), token: named.slice(at + 1) };
}
