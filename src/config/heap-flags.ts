// Resident memory (issue 18 §6: ≤ 160 MB with 10,000 keys served). After each full collection V8 lets the old
// generation grow to up to 4× what survived it when collecting is cheap, so under load a server holding ~45 MB of live
// objects kept a heap of ~110 MB. At 1.3× the heap stays near what is live: peak RSS on the bench's load with 10,000
// keys served 213-258 -> 188-193 MB, CPU per request unchanged within the noise (README, bench). The flag is read at
// each collection, so setting it once the process runs takes effect; one given on the command line wins.

/** The V8 flags the server sets on itself at start, given the flags node was started with. */
export function heapFlags(execArgv: readonly string[]): string[] {
  return execArgv.some((flag) => flag.startsWith('--heap-growing-percent') || flag.startsWith('--heap_growing_percent')) ? [] : ['--heap-growing-percent=30'];
}
