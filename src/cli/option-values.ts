import type { EventEmitter } from 'node:events';
import { type Command, InvalidArgumentError } from 'commander';
import { CliError } from './admin-client.js';

// How the CLI reads an option's value, for every command alike. Found by review: commander hands an empty value to
// code that read it as "not given" (`--restricted ''` made an all-permissions key, `--expires ''` one that never
// expires). Now a value option given empty is refused, whatever the command.

/** A whole number of seconds, zero included (`--grace 0`: the old secret stops at once). */
export function wholeSeconds(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected a whole number of seconds (0 for none), got '${value}'`);
  }
  return Number(value);
}

/** A positive whole number (`--rpm 600`, `--requests 1000`). */
export function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected a positive whole number, got '${value}'`);
  }
  return Number(value);
}

/** A number above zero (`--weight 0.5`); `Number('abc')` is NaN, which JSON sends as null. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!/^\s*[\d.]/.test(value) || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number above zero, got '${value}'`);
  return n;
}

/**
 * Refuses, on this command, a value option given an empty value: it would otherwise pass silently as not given.
 * Checked before the option's own parser runs.
 */
export function refuseEmptyValues(command: Command): void {
  for (const option of command.options) {
    if (!option.required && !option.optional) continue; // a switch (`--json`) takes no value
    const flag = option.long ?? option.short ?? option.flags;
    // Commander's Command is an EventEmitter that its types do not declare as one.
    (command as unknown as EventEmitter).prependListener(`option:${option.name()}`, (value: unknown) => {
      if (typeof value === 'string' && value.trim() === '') throw new CliError(`${flag} was given an empty value: give one, or leave the option out`);
    });
  }
}
