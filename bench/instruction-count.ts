// Instruction counts of a callgrind profile's functions, by what they are: the measure `bench/instructions.ts` reports.
// Kept apart (pure, no process started) so that its reading of callgrind_annotate's output is tested.

/** What a function of the node binary (or a library it loads) is, for an instruction count. */
export type InstructionCategory = 'compile' | 'gc' | 'builtins' | 'jit' | 'sqlite' | 'http-parser' | 'libc' | 'node' | 'v8' | 'other';

/**
 * V8's compilers and its garbage collector: how many of their instructions fall into a measured window depends on
 * timing (when a function tiers up, when a collection starts), not on the requests; they are reported, not compared.
 */
export const TIMING_DEPENDENT: ReadonlySet<InstructionCategory> = new Set(['compile', 'gc']);

const RULES: ReadonlyArray<[InstructionCategory, RegExp]> = [
  ['compile', /v8::internal::(?:compiler::|maglev::|baseline::|interpreter::Bytecode|Parser|Scanner|AstNode|Zone)|Maglev|[Tt]urbofan|turboshaft|[Ss]parkplug/],
  ['gc', /Scavenger|MarkCompact|Heap::|heap::|Marking|Sweeper|Evacuat|IterateObjectCache|RootVisitor|Worklist|MemoryChunk|PagedSpace|NewSpace|LargeObject|Remembered|SlotSet/],
  ['builtins', /Builtins_/],
  ['jit', /\?\?\?:0x/],
  ['sqlite', /sqlite3/],
  ['http-parser', /llhttp/],
  ['libc', /libc\.so|libm\.so|memcpy|memmove|memset|malloc|_int_free/],
  ['node', /node::|uv_|uv__/],
  ['v8', /v8::/],
];

/** The category of one function line of callgrind_annotate's output. */
export function categoryOf(line: string): InstructionCategory {
  for (const [category, rule] of RULES) if (rule.test(line)) return category;
  return 'other';
}

/**
 * Sums callgrind_annotate's function lines (`  1,234 ( 0.5%)  file:function [object]`, run with --threshold=100 so
 * that every function is listed) by category; the PROGRAM TOTALS line is the `total`.
 */
export function instructionsByCategory(annotated: string): { total: number; byCategory: Map<InstructionCategory, number> } {
  const byCategory = new Map<InstructionCategory, number>();
  let total = 0;
  for (const line of annotated.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!m) continue;
    const count = Number(m[1].replaceAll(',', ''));
    if (m[2].startsWith('PROGRAM TOTALS')) {
      total = count;
      continue;
    }
    const category = categoryOf(m[2]);
    byCategory.set(category, (byCategory.get(category) ?? 0) + count);
  }
  return { total, byCategory };
}

/** The instructions that compare across builds: all but the timing-dependent categories. */
export function comparableInstructions(byCategory: ReadonlyMap<InstructionCategory, number>): number {
  let n = 0;
  for (const [category, count] of byCategory) if (!TIMING_DEPENDENT.has(category)) n += count;
  return n;
}
