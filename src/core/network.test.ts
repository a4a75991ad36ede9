import { describe, expect, it } from 'vitest';
import { networkOf, throttleAddress } from './network.js';

describe('throttleAddress', () => {
  it('counts IPv6 by its /64, whatever its spelling', () => {
    expect(throttleAddress('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(throttleAddress('2001:DB8:1:2:bbbb::2')).toBe('2001:db8:1:2::/64');
    expect(throttleAddress('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(throttleAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(throttleAddress('2001:db8:0:0:1::1')).toBe(throttleAddress('2001:db8::2'));
    expect(throttleAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('keeps different /64s apart', () => {
    expect(throttleAddress('2001:db8:1:2::1')).not.toBe(throttleAddress('2001:db8:1:3::1'));
  });

  it('counts IPv4 as is, and IPv4-mapped IPv6 as its IPv4', () => {
    expect(throttleAddress('203.0.113.5')).toBe('203.0.113.5');
    expect(throttleAddress('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(throttleAddress('::FFFF:cb00:7105')).toBe('203.0.113.5');
    expect(throttleAddress('203.0.113.6')).not.toBe('203.0.113.5');
  });

  it('leaves what is not an address as it is', () => {
    expect(throttleAddress('')).toBe('');
    expect(throttleAddress('not-an-ip')).toBe('not-an-ip');
  });
});

describe('networkOf', () => {
  it('groups IPv4 by /24 and IPv6 by /48', () => {
    expect(networkOf('203.0.113.5')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1:2::1')).toBe('2001:db8:1::/48');
    expect(networkOf('nope')).toBeNull();
  });
});
