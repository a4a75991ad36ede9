// A JSON value that conforms to a JSON schema, for the built-in model's structured outputs and tool calls: strings
// are the echoed text (or, where a format or pattern rules the text out, a fixed example of the format), numbers 0
// (or the nearest bound), booleans false, arrays as short as allowed, enums and consts their first value, objects
// their required properties and no others, the first branch of anyOf/oneOf that can be built, local $refs resolved.
// A schema it cannot satisfy for sure is reported (null), so that the model refuses rather than answer JSON that
// does not conform.

type Schema = Record<string, unknown>;

/** Examples of the string formats structured outputs support (OpenAI's guide lists these). */
const FORMAT_EXAMPLES: Record<string, string> = {
  'date-time': '1970-01-01T00:00:00Z',
  date: '1970-01-01',
  time: '00:00:00Z',
  duration: 'P0D',
  email: 'echo@example.com',
  // zod's url() and pydantic's AnyUrl.
  uri: 'https://example.com/',
  hostname: 'example.com',
  ipv4: '0.0.0.0',
  ipv6: '::1',
  uuid: '123e4567-e89b-42d3-a456-426614174000',
};

/** Deeper than this, a schema is taken for a recursion that requires itself (which no finite value satisfies). */
const MAX_DEPTH = 32;
/**
 * Schemas visited per value at most: past it the schema is refused. Depth alone let the search grow exponentially (a
 * self-referencing anyOf of three branches took 37 s of the event loop, of six hours: found by an outside review).
 */
const MAX_STEPS = 10_000;
/**
 * A `pattern` is run only on candidates this short: a pattern that backtracks exponentially (`^(?!z)(a|a)*$`) ran on the
 * echoed text for seconds to hours, on the gateway's event loop (found by an outside review). Longer text is cut.
 */
const PATTERN_TEXT_MAX = 12;
/** Keywords the builder does not read: a schema using one is refused rather than answered with JSON that may not fit. */
const UNREAD = ['contains', 'minContains', 'maxContains', 'patternProperties', 'propertyNames', 'dependentRequired', 'dependentSchemas', 'dependencies', 'if', 'then', 'else', 'unevaluatedProperties', 'unevaluatedItems'];

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value conforming to `schema`, its strings `text`; null when none can be built for sure. */
export function valueFromSchema(schema: unknown, text: string): { value: unknown } | null {
  if (!isSchema(schema)) return null;
  const build = new Builder(schema, text);
  try {
    const value = build.of(schema, 0);
    return value === FAIL ? null : { value };
  } catch (err) {
    if (err === TOO_COMPLEX) return null;
    throw err;
  }
}

const TOO_COMPLEX = Symbol('too complex');

const FAIL = Symbol('unbuildable');
type Built = unknown | typeof FAIL;

class Builder {
  private steps = 0;

  constructor(
    private readonly root: Schema,
    private readonly text: string,
  ) {}

  /** `#`, `#/$defs/x`, `#/definitions/x` (JSON pointers into the root). */
  private resolve(ref: string): Schema | null {
    if (!ref.startsWith('#')) return null;
    let at: unknown = this.root;
    for (const raw of ref.slice(1).split('/').filter((p) => p !== '')) {
      const part = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      if (!isSchema(at) || !Object.hasOwn(at, part)) return null;
      at = at[part];
    }
    return isSchema(at) ? at : null;
  }

  of(schema: Schema, depth: number): Built {
    if (depth > MAX_DEPTH) return FAIL;
    if (++this.steps > MAX_STEPS) throw TOO_COMPLEX;
    for (const key of UNREAD) if (schema[key] !== undefined) return FAIL;
    if (typeof schema.$ref === 'string') {
      const target = this.resolve(schema.$ref);
      return target ? this.of(target, depth + 1) : FAIL;
    }
    if (Object.hasOwn(schema, 'const')) return schema.const;
    if (Array.isArray(schema.enum)) return schema.enum.length > 0 ? schema.enum[0] : FAIL;
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = schema[key];
      if (!Array.isArray(branches)) continue;
      for (const b of branches) {
        if (!isSchema(b)) continue;
        const merged = mergeBranch(withoutKey(schema, key), b);
        const v = merged === null ? FAIL : this.of(merged, depth + 1);
        if (v !== FAIL) return v;
      }
      return FAIL;
    }
    if (Array.isArray(schema.allOf)) {
      // Only one branch is safe to build without merging constraints.
      if (schema.allOf.length !== 1 || !isSchema(schema.allOf[0])) return FAIL;
      const merged = mergeBranch(withoutKey(schema, 'allOf'), schema.allOf[0]);
      return merged === null ? FAIL : this.of(merged, depth + 1);
    }
    if (schema.not !== undefined) return FAIL;
    const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [inferType(schema)] : [schema.type];
    for (const type of types) {
      const v = this.ofType(type, schema, depth);
      if (v !== FAIL) return v;
    }
    return FAIL;
  }

  private ofType(type: unknown, schema: Schema, depth: number): Built {
    switch (type) {
      case 'string':
        return this.string(schema);
      case 'number':
      case 'integer':
        return number(schema, type === 'integer');
      case 'boolean':
        return false;
      case 'null':
        return null;
      case 'array':
        return this.array(schema, depth);
      case 'object':
        return this.object(schema, depth);
      default:
        return FAIL;
    }
  }

  private string(schema: Schema): Built {
    const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const max = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
    const format = typeof schema.format === 'string' ? schema.format : null;
    let pattern: RegExp | null = null;
    if (typeof schema.pattern === 'string') {
      try {
        pattern = new RegExp(schema.pattern, 'u');
      } catch {
        return FAIL;
      }
    }
    // The format examples are ours and short, without long runs of one character: a pattern is run on them whole.
    const fits = (s: string) =>
      [...s].length >= min && [...s].length <= max && (pattern === null || ((format !== null || [...s].length <= PATTERN_TEXT_MAX) && pattern.test(s)));
    const candidates: string[] = [];
    if (format !== null) {
      if (!Object.hasOwn(FORMAT_EXAMPLES, format)) return FAIL;
      candidates.push(FORMAT_EXAMPLES[format]);
    } else {
      const chars = [...this.text];
      const cut = chars.slice(0, Math.min(Number.isFinite(max) ? max : chars.length, pattern === null ? chars.length : PATTERN_TEXT_MAX)).join('');
      candidates.push(cut.length >= min ? cut : cut + 'x'.repeat(min - [...cut].length));
      // A pattern the text does not match may still take a short plain word or nothing.
      if (pattern !== null) candidates.push('x', '');
    }
    return candidates.find(fits) ?? FAIL;
  }

  private array(schema: Schema, depth: number): Built {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    const min = Math.max(typeof schema.minItems === 'number' ? schema.minItems : 0, schema.items === false ? prefix.length : 0);
    const out: unknown[] = [];
    for (let i = 0; i < min; i++) {
      const item = i < prefix.length ? prefix[i] : schema.items;
      if (item === false || (item !== undefined && !isSchema(item))) return FAIL;
      const v = item === undefined || item === true ? this.text : this.of(item, depth + 1);
      if (v === FAIL) return FAIL;
      out.push(v);
    }
    if (typeof schema.maxItems === 'number' && out.length > schema.maxItems) return FAIL;
    if (schema.uniqueItems === true && out.length > 1) return FAIL;
    return out;
  }

  private object(schema: Schema, depth: number): Built {
    const properties = isSchema(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
    const out: Record<string, unknown> = {};
    for (const name of required) {
      const property = Object.hasOwn(properties, name) ? properties[name] : isSchema(schema.additionalProperties) ? schema.additionalProperties : undefined;
      if (property === undefined && schema.additionalProperties === false) return FAIL;
      const v = property === undefined || property === true ? this.text : isSchema(property) ? this.of(property, depth + 1) : FAIL;
      if (v === FAIL) return FAIL;
      out[name] = v;
    }
    if (typeof schema.minProperties === 'number' && required.length < schema.minProperties) return FAIL;
    if (typeof schema.maxProperties === 'number' && required.length > schema.maxProperties) return FAIL;
    return out;
  }
}

/** The type a schema without `type` implies by its keywords (a bare `{}` takes any value: a string). */
function inferType(schema: Schema): string {
  if (schema.properties !== undefined || schema.required !== undefined || schema.additionalProperties !== undefined) return 'object';
  if (schema.items !== undefined || schema.prefixItems !== undefined) return 'array';
  if (schema.minimum !== undefined || schema.maximum !== undefined) return 'number';
  return 'string';
}

/** 0, or the bound nearest it; an integer for `integer`, a multiple of `multipleOf` when one is asked. */
function number(schema: Schema, integer: boolean): Built {
  const num = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const step = num('multipleOf') ?? (integer ? 1 : undefined);
  const min = num('minimum');
  const max = num('maximum');
  const exMin = num('exclusiveMinimum');
  const exMax = num('exclusiveMaximum');
  const ok = (v: number) =>
    (min === undefined || v >= min) &&
    (max === undefined || v <= max) &&
    (exMin === undefined || v > exMin) &&
    (exMax === undefined || v < exMax) &&
    (!integer || Number.isInteger(v)) &&
    (step === undefined || Number.isInteger(v / step));
  const lower = Math.max(min ?? Number.NEGATIVE_INFINITY, exMin ?? Number.NEGATIVE_INFINITY);
  const upper = Math.min(max ?? Number.POSITIVE_INFINITY, exMax ?? Number.POSITIVE_INFINITY);
  const candidates = [0];
  // From a bound of 0 too: exclusiveMinimum 0 (zod's positive(), pydantic's gt=0) was refused (an outside review).
  if (lower >= 0) candidates.push(step ? Math.ceil(lower / step) * step : lower, step ? (Math.floor(lower / step) + 1) * step : lower + 1);
  if (upper <= 0) candidates.push(step ? Math.floor(upper / step) * step : upper, step ? (Math.ceil(upper / step) - 1) * step : upper - 1);
  // Between two close bounds (0 < x < 1): their middle.
  if (!integer && step === undefined && Number.isFinite(lower) && Number.isFinite(upper)) candidates.push((lower + upper) / 2);
  return candidates.find(ok) ?? FAIL;
}

/**
 * A schema with one branch of its anyOf/oneOf/allOf applied: the branch's keywords over the rest's, except that
 * `required` lists are joined and `properties` merged (a property both define must be defined alike), so a branch
 * never drops what its parent asks for (it did: a parent's required `a` was left out for the branch's `b`). Null
 * when the two cannot be merged safely.
 */
function mergeBranch(parent: Schema, branch: Schema): Schema | null {
  const merged: Schema = { ...parent, ...branch };
  if (Array.isArray(parent.required) || Array.isArray(branch.required)) {
    merged.required = [...new Set([...(Array.isArray(parent.required) ? parent.required : []), ...(Array.isArray(branch.required) ? branch.required : [])])];
  }
  if (isSchema(parent.properties) && isSchema(branch.properties)) {
    const properties: Schema = { ...parent.properties };
    for (const [name, value] of Object.entries(branch.properties)) {
      if (Object.hasOwn(properties, name) && JSON.stringify(properties[name]) !== JSON.stringify(value)) return null;
      properties[name] = value;
    }
    merged.properties = properties;
  }
  if (parent.type !== undefined && branch.type !== undefined && JSON.stringify(parent.type) !== JSON.stringify(branch.type)) return null;
  return merged;
}

function withoutKey(schema: Schema, key: string): Schema {
  const { [key]: _, ...rest } = schema;
  return rest;
}
