import type { EventEmitter } from 'node:events';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError } from './admin-client.js';

// How the CLI reads an option's value, for every command alike. Found by review: commander hands an empty value to
// code that read it as "not given" (`--restricted ''` made an all-permissions key, `--expires ''` one that never
// expires), and keeps the last of a repeated option (`--allowed-ips a --allowed-ips b` gave [b], `--name f1 --name f2`
// gave f2). Now a value option given empty, or twice, is refused, whatever the command, but the list options made
// with listOption or repeatableOption, whose entries add up over repeats.

/** The options whose values add up when repeated (listOption, repeatableOption). */
const REPEATABLE = new WeakSet<Option>();

/** The entries of a comma-separated list; an empty one is refused (the API refuses `[]`: leave the option out for any). */
function entriesOf(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('the list is empty: give at least one entry, or leave the option out for any');
  return items;
}

/** A comma-separated list option that may be given more than once: the entries of every occurrence add up. */
export function listOption(flags: string, description: string): Option {
  const option = new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), ...entriesOf(value)]);
  REPEATABLE.add(option);
  return option;
}

/**
 * An option that may be given more than once, each occurrence one entry, not split at commas (`--member-of <project>`:
 * a project's name may hold one).
 */
export function repeatableOption(flags: string, description: string): Option {
  const option = new Option(flags, description).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  REPEATABLE.add(option);
  return option;
}

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
 * Refuses, on this command, a value option given an empty value or given twice (but a repeatable one): either would
 * otherwise pass silently as something not asked for. Checked before the option's own parser runs. For one parse of a
 * command built afresh (runCli builds the tree for each run).
 */
export function refuseEmptyOrRepeatedValues(command: Command): void {
  for (const option of command.options) {
    if (!option.required && !option.optional) continue; // a switch (`--json`): saying it twice says the same
    const flag = option.long ?? option.short ?? option.flags;
    let given = false;
    // Commander's Command is an EventEmitter that its types do not declare as one.
    (command as unknown as EventEmitter).prependListener(`option:${option.name()}`, (value: unknown) => {
      if (given && !REPEATABLE.has(option)) throw new CliError(`${flag} was given more than once: give it once`);
      given = true;
      if (typeof value === 'string' && value.trim() === '') throw new CliError(`${flag} was given an empty value: give one, or leave the option out`);
    });
  }
}
