import { describe, expect, it } from 'vitest';
import { categoryOf, comparableInstructions, instructionsByCategory } from '../bench/instruction-count.js';

// bench/instructions.ts compares builds by instruction counts read from callgrind_annotate: its reading must sum every
// function line into its category, take the program's total apart, and leave V8's compilers and GC out of the comparison.

const ANNOTATED = `--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
665,900,285 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                   file:function
--------------------------------------------------------------------------------
20,335,465 ( 3.05%)  ???:Builtins_LoadIC [/usr/bin/node]
15,565,928 ( 2.34%)  ???:v8::internal::compiler::GraphReducer::ReduceTop() [/usr/bin/node]
 4,327,413 ( 0.65%)  ???:heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject(v8::internal::FullHeapObjectSlot) [/usr/bin/node]
 6,251,698 ( 0.94%)  ???:0x000000000d0e3fc0 [???]
 4,834,682 ( 0.73%)  ???:sqlite3VdbeExec [/work/main/node_modules/better-sqlite3/build/Release/better_sqlite3.node]
 4,845,952 ( 0.46%)  ???:llhttp__internal_execute [/usr/bin/node]
 8,015,250 ( 0.76%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]
 8,827,913 ( 0.83%)  ???:v8::String::WriteUtf8(v8::Isolate*, char*, int, int*, int) const [/usr/bin/node]
 1,000,000 ( 0.15%)  ???:node::http_parser::Parser::Execute [/usr/bin/node]
       100 ( 0.00%)  ???:something_else [/usr/lib/x86_64-linux-gnu/libfoo.so]
`;

describe("bench/instructions.ts's reading of callgrind_annotate", () => {
  it('sums each function line into its category and takes the program total apart', () => {
    const { total, byCategory } = instructionsByCategory(ANNOTATED);
    expect(total).toBe(665_900_285);
    expect(Object.fromEntries(byCategory)).toEqual({
      builtins: 20_335_465,
      compile: 15_565_928,
      gc: 4_327_413,
      jit: 6_251_698,
      sqlite: 4_834_682,
      'http-parser': 4_845_952,
      libc: 8_015_250,
      v8: 8_827_913,
      node: 1_000_000,
      other: 100,
    });
  });

  it('compares builds without the timing-dependent compilers and GC', () => {
    const { byCategory } = instructionsByCategory(ANNOTATED);
    expect(comparableInstructions(byCategory)).toBe(20_335_465 + 6_251_698 + 4_834_682 + 4_845_952 + 8_015_250 + 8_827_913 + 1_000_000 + 100);
    expect(categoryOf('???:v8::internal::maglev::MaglevGraphBuilder::Build() [/usr/bin/node]')).toBe('compile');
    expect(categoryOf('???:v8::internal::MarkCompactCollector::CollectGarbage() [/usr/bin/node]')).toBe('gc');
  });
});
