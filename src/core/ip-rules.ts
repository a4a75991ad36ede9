import ipaddr from 'ipaddr.js';

export type IpMatcher = (ip: string) => boolean;

/** Normalises an address or CIDR entry; throws on anything else. IPv4-mapped IPv6 becomes IPv4. */
export function normalizeIpEntry(entry: string): string {
  const text = entry.trim();
  if (text.includes('/')) {
    const [addr, bits] = ipaddr.parseCIDR(text);
    const plain = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96
      ? `${(addr as ipaddr.IPv6).toIPv4Address().toString()}/${bits - 96}`
      : `${addr.toString()}/${bits}`;
    return plain;
  }
  if (!ipaddr.isValid(text)) throw new Error(`not an IP address or CIDR: ${text}`);
  return ipaddr.process(text).toString();
}

/** Compiles an allowlist to a matcher; an empty or null list allows every address. */
export function compileAllowlist(entries: readonly string[] | null | undefined): IpMatcher | null {
  if (!entries || entries.length === 0) return null;
  const ranges = entries.map((e) => {
    const n = normalizeIpEntry(e);
    return n.includes('/') ? ipaddr.parseCIDR(n) : ([ipaddr.parse(n), ipaddr.parse(n).kind() === 'ipv4' ? 32 : 128] as const);
  });
  return (ip: string) => {
    let addr: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      addr = ipaddr.process(ip);
    } catch {
      return false;
    }
    for (const [range, bits] of ranges) {
      if (range.kind() === addr.kind() && addr.match(range as never, bits)) return true;
    }
    return false;
  };
}
