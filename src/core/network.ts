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
