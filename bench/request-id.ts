import { randomBytes, randomUUID } from 'node:crypto';
import { requestIdSource } from '../src/core/ids.js';

// The cost of a request id on the gateway's hot path (issue 17 §4): Tollgate's source (random bytes drawn 4 KB at a
// time, written through a table) against a crypto.randomUUID() per request, with and without its dashes, and against
// a counter (unique but guessable, and telling a client how many requests others made). Not part of `npm run bench`:
//   node --import tsx bench/request-id.ts
// Each candidate runs 1,000,000 ids 9 times; the best run is reported (ns per id), so other load on the machine
// weighs as little as it can.

const ROUNDS = 9;
const N = 1_000_000;

const counterPrefix = randomBytes(8).toString('hex');
let count = 0;
const candidates: Record<string, () => string> = {
  'requestIdSource (Tollgate)': requestIdSource((n) => randomBytes(n)),
  'req_ + randomUUID()': () => `req_${randomUUID()}`,
  'req_ + randomUUID() without dashes': () => `req_${randomUUID().replace(/-/g, '')}`,
  'req_ + prefix + counter': () => `req_${counterPrefix}${(count++).toString(16).padStart(16, '0')}`,
};

let kept = 0;
for (const [name, next] of Object.entries(candidates)) {
  for (let i = 0; i < 200_000; i++) kept += next().length;
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < N; i++) kept += next().length;
    best = Math.min(best, Number(process.hrtime.bigint() - started) / N);
  }
  console.log(`${name.padEnd(36)} ${best.toFixed(0).padStart(5)} ns/id   e.g. ${next()}`);
}
if (kept === 0) console.log('nothing measured');
