import ipaddr from 'ipaddr.js';

/** The network range an address belongs to, for "new network" signals: /24 for IPv4, /48 for IPv6. */
export function networkOf(ip: string): string | null {
  try {
    const a = ipaddr.process(ip);
    if (a.kind() === 'ipv4') return `${a.toByteArray().slice(0, 3).join('.')}.0/24`;
    const parts = (a as ipaddr.IPv6).parts.slice(0, 3).map((p) => p.toString(16));
    return `${parts.join(':')}::/48`;
  } catch {
    return null;
  }
}

/**
 * The address a failure is counted against by the throttles (key guessing, sign-in, setup and invitation tokens):
 * IPv4 as is (an IPv4-mapped IPv6 address too), IPv6 by its /64, which one subscriber usually holds whole (RFC 6177),
 * so that walking through one's own prefix is not a fresh address per guess. Anything else (not an address) as is.
 */
export function throttleAddress(ip: string): string {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip); // IPv4-mapped IPv6 comes back as its IPv4
  } catch {
    return ip;
  }
  if (addr.kind() === 'ipv4') return addr.toString();
  const p = (addr as ipaddr.IPv6).parts;
  return `${p[0].toString(16)}:${p[1].toString(16)}:${p[2].toString(16)}:${p[3].toString(16)}::/64`;
}

/**
 * How many addresses' worth of failures an IPv6 /48 may make before all of it is refused. A /48 is what one site or
 * customer is usually given (RFC 6177): a stranger holding one would otherwise have 65,536 /64s, each with its own
 * budget; sixteen times one /64's budget leaves room for several honest neighbours.
 */
export const PREFIX_48_FACTOR = 16;

/** The /48 a /64 counting key (`a:b:c:d::/64`, as throttleAddress writes it) lies in, or null for anything else. */
export function prefix48Of(key: string): string | null {
  if (!key.endsWith('::/64')) return null;
  const parts = key.split(':');
  return `${parts[0]}:${parts[1]}:${parts[2]}::/48`;
}
