import { describe, expect, it } from 'vitest';
import { compileAllowlist, IpEntryError, parseIpEntry } from './ip-rules.js';

describe('IP allowlists', () => {
  it('matches IPv4 and IPv6 addresses and ranges', () => {
    const m = compileAllowlist(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'])!;
    expect(m('10.1.2.3')).toBe(true);
    expect(m('11.0.0.1')).toBe(false);
    expect(m('192.168.1.7')).toBe(true);
    expect(m('192.168.1.8')).toBe(false);
    expect(m('2001:db8::1')).toBe(true);
    expect(m('2001:db9::1')).toBe(false);
  });

  it('treats IPv4-mapped IPv6 as IPv4 (dual-stack sockets)', () => {
    const m = compileAllowlist(['127.0.0.1'])!;
    expect(m('::ffff:127.0.0.1')).toBe(true);
  });

  it('allows everything when empty, refuses garbage', () => {
    expect(compileAllowlist([])).toBeNull();
    expect(compileAllowlist(null)).toBeNull();
    expect(compileAllowlist(['1.2.3.4'])!('not-an-ip')).toBe(false);
    expect(() => parseIpEntry('300.1.1.1')).toThrow(IpEntryError);
    expect(() => parseIpEntry('1.2.3.0/33')).toThrow(IpEntryError);
    expect(() => parseIpEntry('hello')).toThrow(IpEntryError);
    expect(parseIpEntry(' 10.0.0.0/8 ')).toBe('10.0.0.0/8');
  });

  it('goes on matching entries stored before the strict rules as it did', () => {
    const m = compileAllowlist(['10.0.0.1/8', '8.0.0.1'])!;
    expect(m('10.200.0.1')).toBe(true);
    expect(m('8.0.0.1')).toBe(true);
  });
});

describe('parseIpEntry', () => {
  it('accepts dotted-quad decimal and standard IPv6, canonically', () => {
    const cases: Array<[string, string]> = [
      ['10.0.0.1', '10.0.0.1'],
      ['0.0.0.0', '0.0.0.0'],
      ['255.255.255.255', '255.255.255.255'],
      ['192.168.0.0/16', '192.168.0.0/16'],
      ['10.0.0.1/32', '10.0.0.1/32'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8::/32', '2001:db8::/32'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [entry, stored] of cases) expect(parseIpEntry(entry), entry).toBe(stored);
  });

  it('refuses the legacy IPv4 forms that read as another address, naming the entry', () => {
    for (const entry of ['010.0.0.1', '10.1', '10.0.1', '2130706433', '0x7f.1', '0x7f000001', '1.2.3.04', '00.0.0.0', '1.2.3.4.', ' .1.2.3', '1.2.3.-1', '1..2.3']) {
      expect(() => parseIpEntry(entry), entry).toThrow(new RegExp(`"${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not an IP address`));
    }
  });

  it('refuses IPv6 outside the standard notation: zones, two ::, too many groups, legacy IPv4 inside', () => {
    for (const entry of ['fe80::1%eth0', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::1', ':1::', '1::2:', '::ffff:010.0.0.1', '1.2.3.4::', '::1.2.3', 'g::1']) {
      expect(() => parseIpEntry(entry), entry).toThrow(IpEntryError);
    }
  });

  it('refuses a range with host bits set, naming the network and the one address', () => {
    expect(() => parseIpEntry('10.0.0.1/8')).toThrow('"10.0.0.1/8" has host bits set: the range is 10.0.0.0/8; for the one address write 10.0.0.1/32 or 10.0.0.1');
    expect(() => parseIpEntry('2001:db8::1/32')).toThrow(/the range is 2001:db8::\/32/);
    expect(() => parseIpEntry('192.168.1.1/24')).toThrow(IpEntryError);
  });

  it('refuses prefixes that are not a whole number in range', () => {
    for (const entry of ['10.0.0.0/08', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/ 8', '10.0.0.0/+8', '10.0.0.0/33', '::/129', '10.0.0.0/255.0.0.0']) {
      expect(() => parseIpEntry(entry), entry).toThrow(IpEntryError);
    }
  });
  // Found by review: ipaddr.js reads exactly `::a.b.c.d` (RFC 4291's deprecated IPv4-compatible address ::a00:1) as
  // the IPv4-mapped ::ffff:a.b.c.d, so `::0.0.0.0/96` was stored as 0.0.0.0/0, every IPv4 address, and `::127.0.0.1`
  // as 127.0.0.1, while `::0:10.0.0.1`, the same address, was IPv6.
  it('refuses the IPv4-compatible spelling ::a.b.c.d, read two ways, naming both readings', () => {
    for (const entry of ['::0.0.0.0/96', '::127.0.0.1', '::10.0.0.1/128']) {
      expect(() => parseIpEntry(entry), entry).toThrow(IpEntryError);
    }
    expect(() => parseIpEntry('::10.0.0.1')).toThrow(/write the IPv4 address as 10\.0\.0\.1 \(or ::ffff:10\.0\.0\.1\), or the IPv6 address in hex \(::a00:1\)/);
    // The spellings nobody misreads keep their meaning.
    expect(parseIpEntry('::0:10.0.0.1')).toBe('::a00:1');
    expect(parseIpEntry('::a00:1')).toBe('::a00:1');
    expect(parseIpEntry('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(parseIpEntry('::/96')).toBe('::/96');
  });
});
