import { describe, expect, it } from 'vitest';
import { TollgateError } from '../core/errors.js';
import { checkNewPassword, PASSWORD_RULES, passwordProblem } from './passwords.js';

const EMAIL = 'olive.owner@example.com';

describe('password policy', () => {
  it('refuses short passwords, counting characters rather than UTF-16 units', async () => {
    expect(await passwordProblem('Tr0ub4d', EMAIL)).toMatch(/shorter than 8 characters/);
    expect(await passwordProblem('😀😀😀😀😀😀😀', EMAIL)).toMatch(/shorter than 8/); // 14 units, 7 characters
    expect(await passwordProblem('😀😀😀😀😀😀😀😀', EMAIL)).toBeNull();
  });

  it('refuses the common passwords of the shipped list, whatever their case and surrounding spaces', async () => {
    for (const p of ['password', 'Password1', 'PASSWORD1', '12345678', 'qwertyuiop', 'iloveyou', ' password1 ']) {
      expect(await passwordProblem(p, EMAIL), p).toMatch(/most common passwords/);
    }
    expect(await passwordProblem('violet staple harbour', EMAIL)).toBeNull();
  });

  it('refuses the email address and its name part', async () => {
    expect(await passwordProblem('Olive.Owner@Example.com', EMAIL)).toBe('it is your email address');
    expect(await passwordProblem('olive.owner', EMAIL)).toBe('it is the name part of your email address');
    expect(await passwordProblem('olive.owner!', EMAIL)).toBeNull();
  });

  it('accepts long passphrases up to 1024 characters and refuses longer ones', async () => {
    expect(await passwordProblem('a sentence that goes on '.repeat(12), EMAIL)).toBeNull(); // 288 characters
    expect(await passwordProblem('x'.repeat(1024), EMAIL)).toBeNull();
    expect(await passwordProblem('x'.repeat(1025), EMAIL)).toMatch(/longer than 1024/);
  });

  it('the error names the parameter, the broken rule and every rule', async () => {
    const err = await checkNewPassword('password1', EMAIL, 'new_password').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TollgateError);
    const e = err as TollgateError;
    expect(e.code).toBe('invalid_value');
    expect(e.status).toBe(400);
    expect(e.param).toBe('new_password');
    expect(e.message).toBe(`Invalid value for 'new_password': it is one of the most common passwords, the first ones an attacker tries. ${PASSWORD_RULES}`);
    expect(e.message).not.toContain('password1');
    await expect(checkNewPassword('violet staple harbour', EMAIL, 'password')).resolves.toBeUndefined();
  });
});
