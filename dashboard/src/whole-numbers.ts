// The reading of a typed whole number (limits, quotas) the dashboard's fields share (src/core/whole-numbers.ts).
export { type TypedWholeNumber, typedWholeNumber } from '../../src/core/whole-numbers.js';
