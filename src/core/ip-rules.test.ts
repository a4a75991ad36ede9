import { describe, expect, it } from 'vitest';
import { compileAllowlist, normalizeIpEntry } from './ip-rules.js';

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
    expect(() => normalizeIpEntry('300.1.1.1')).toThrow();
    expect(() => normalizeIpEntry('1.2.3.0/33')).toThrow();
    expect(() => normalizeIpEntry('hello')).toThrow();
    expect(normalizeIpEntry(' 10.0.0.0/8 ')).toBe('10.0.0.0/8');
  });
});
