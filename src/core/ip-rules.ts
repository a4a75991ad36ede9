import ipaddr from 'ipaddr.js';

export type IpMatcher = (ip: string) => boolean;

// What an IP allowlist entry may be (issue 16 §3). ipaddr.js, like inet_aton, reads the legacy IPv4 forms: `010.0.0.1`
// as octal (8.0.0.1), `10.1` as 10.0.0.1, `2130706433` as 127.0.0.1, `0x7f.1` as hex. An operator who writes one of
// those rarely means what it reads as, so an entry must be written the one way nobody misreads: IPv4 in dotted-quad
// decimal without leading zeros, IPv6 in RFC 4291 §2.2 text (hex groups, one `::`, a dotted quad last), no zone. A
// CIDR range whose address has host bits set (`10.0.0.1/8`) is refused too, naming the network it would be: the
// operator meant either that network or the one address, and only they know which.

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PREFIX = /^(?:0|[1-9][0-9]{0,2})$/;

/** Whether `text` is an IPv6 address in RFC 4291 §2.2 text: eight hex groups, or fewer around one `::`, the last 32 bits possibly a dotted quad. */
function isStandardIPv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  const groups = [...head, ...tail];
  // The dotted quad may only end the text (not stand before a `::`).
  const lastOfText = halves.length === 2 ? (tail.length ? groups.length - 1 : -1) : groups.length - 1;
  let count = 0;
  for (const [i, g] of groups.entries()) {
    if (i === lastOfText && g.includes('.')) {
      if (!DOTTED_QUAD.test(g)) return false;
      count += 2;
    } else if (HEX_GROUP.test(g)) {
      count += 1;
    } else {
      return false;
    }
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** `10.0.0.1` as the last two hex groups of an IPv6 address (`a00:1`), for a message; the quad as given if it is not one. */
function ipv4CompatibleHex(quad: string): string {
  if (!DOTTED_QUAD.test(quad)) return quad;
  const [a, b, c, d] = quad.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/** An allowlist entry that is refused, with why (naming the entry). */
export class IpEntryError extends Error {}

/**
 * RFC 4291's deprecated IPv4-compatible spelling, `::a.b.c.d` (the address ::a00:1 for ::10.0.0.1). ipaddr.js (and so
 * proxy-addr) reads exactly this spelling as the IPv4-mapped `::ffff:a.b.c.d`, which becomes the IPv4 address: found by
 * review, `::0.0.0.0/96` was stored as `0.0.0.0/0` (every IPv4 address) and `::127.0.0.1` as 127.0.0.1, while
 * `::0:10.0.0.1`, the same address, was read as IPv6. Refused: nobody can tell which the operator meant.
 */
const IPV4_COMPATIBLE = /^::\d+\.\d+\.\d+\.\d+$/;

function parseAddress(text: string, entry: string): ipaddr.IPv4 | ipaddr.IPv6 {
  if (DOTTED_QUAD.test(text)) return ipaddr.IPv4.parse(text);
  if (IPV4_COMPATIBLE.test(text)) {
    const quad = text.slice(2);
    throw new IpEntryError(
      `"${entry}" is the deprecated IPv4-compatible spelling, which is read two ways: write the IPv4 address as ${quad} (or ::ffff:${quad}), or the IPv6 address in hex (::${ipv4CompatibleHex(quad)})`,
    );
  }
  if (text.includes(':') && isStandardIPv6(text)) return ipaddr.IPv6.parse(text);
  throw new IpEntryError(
    `"${entry}" is not an IP address: write IPv4 as four decimal numbers 0–255 without leading zeros (10.0.0.1) and IPv6 in standard notation (2001:db8::1)`,
  );
}

/**
 * The canonical form of an allowlist entry (an address or a CIDR range), or an IpEntryError saying why it is refused.
 * IPv4-mapped IPv6 becomes IPv4; IPv6 is written as RFC 5952 (lower case, shortest).
 */
export function parseIpEntry(entry: string): string {
  const text = entry.trim();
  const slash = text.indexOf('/');
  if (slash < 0) {
    const addr = parseAddress(text, entry);
    return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address().toString() : addr.toString();
  }
  const addr = parseAddress(text.slice(0, slash), entry);
  const prefixText = text.slice(slash + 1);
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  const bits = Number(prefixText);
  if (!PREFIX.test(prefixText) || bits > max) {
    throw new IpEntryError(`"${entry}" has an invalid prefix length: it must be a whole number from 0 to ${max}`);
  }
  const network =
    addr.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${bits}`) : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${bits}`);
  if (network.toString() !== addr.toString()) {
    throw new IpEntryError(
      `"${entry}" has host bits set: the range is ${network.toString()}/${bits}; for the one address write ${addr.toString()}/${max} or ${addr.toString()}`,
    );
  }
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return `${(addr as ipaddr.IPv6).toIPv4Address().toString()}/${bits - 96}`;
  }
  return `${addr.toString()}/${bits}`;
}

/**
 * A stored entry as a range. Lenient, unlike parseIpEntry: entries stored before the strict rules (`10.0.0.1/8`, kept
 * as ipaddr.js read it) go on matching what they matched.
 */
function storedRange(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (entry.includes('/')) {
    const [addr, bits] = ipaddr.parseCIDR(entry);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    }
    return [addr, bits];
  }
  const addr = ipaddr.process(entry);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** Compiles an allowlist to a matcher; an empty or null list allows every address. */
export function compileAllowlist(entries: readonly string[] | null | undefined): IpMatcher | null {
  if (!entries || entries.length === 0) return null;
  const ranges = entries.map((e) => storedRange(e.trim()));
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
