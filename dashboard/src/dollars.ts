// The server's reading of a typed dollar amount (src/core/dollars.ts), the CLI's too.
export { type TypedCents, typedCents } from '../../src/core/dollars.js';
