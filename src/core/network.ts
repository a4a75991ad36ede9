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
