/**
 * The longest delay a Node timer takes: past it, setTimeout fires after 1 ms (TimeoutOverflowWarning). Every setting
 * that becomes a timer's delay is bounded by it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
