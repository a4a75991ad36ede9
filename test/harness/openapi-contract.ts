import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

// OpenAI's published OpenAPI description (../shared/openai-openapi/openapi.yaml) as the reference for every
// OpenAI-shaped answer Tollgate gives: an answer is checked against the response schema of the operation it answers
// (JSON Schema 2020-12, $refs resolved against the whole document). Additions of Tollgate's own pass (the spec's
// objects allow extra members unless they say otherwise); contradictions fail.

/** Where the spec lives: beside the repository. */
export const SPEC_PATH = join(import.meta.dirname, '..', '..', '..', 'shared', 'openai-openapi', 'openapi.yaml');

export function specAvailable(): boolean {
  return existsSync(SPEC_PATH);
}

// biome-ignore lint/suspicious/noExplicitAny: the spec is arbitrary JSON
type Json = any;

let cached: { doc: Json; ajv: Ajv2020; validators: Map<string, ValidateFunction> } | null = null;

/** The parsed spec, cached on disk by content hash (a YAML parse of the 3 MB file takes ~2 s). */
function loadSpec(): Json {
  const text = readFileSync(SPEC_PATH);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'tollgate-openapi-cache');
  const file = join(dir, `${hash}.json`);
  if (existsSync(file) && statSync(file).size > 0) return JSON.parse(readFileSync(file, 'utf8'));
  const doc = parse(text.toString('utf8'), { maxAliasCount: -1 });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.${process.pid}`, JSON.stringify(doc));
  try {
    // Atomic enough: the last writer wins with identical content.
    writeFileSync(file, readFileSync(`${file}.${process.pid}`));
  } catch {
    // another worker wrote it
  }
  return doc;
}

function spec() {
  if (!cached) {
    const doc = loadSpec();
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    const addFormats = addFormatsModule as unknown as (a: Ajv2020) => void;
    addFormats(ajv);
    // OpenAI's own format names: Unix seconds are integers, already typed as such.
    for (const f of ['unixtime', 'int64', 'int32', 'double', 'float', 'binary', 'byte']) ajv.addFormat(f, true);
    ajv.addSchema({ $id: 'openapi', components: withNullableAsNull(doc.components) }, 'openapi');
    cached = { doc, ajv, validators: new Map() };
  }
  return cached;
}

/** The spec's path template for a path relative to `/v1` (`/organization/projects/proj_1` → `/organization/projects/{project_id}`). */
export function operationPath(path: string): string | null {
  const { doc } = spec();
  const segments = path.split('?')[0].split('/');
  let best: { tmpl: string; statics: number } | null = null;
  for (const raw of Object.keys(doc.paths)) {
    const tmpl = raw.split('?')[0];
    const t = tmpl.split('/');
    if (t.length !== segments.length) continue;
    let statics = 0;
    let ok = true;
    for (let i = 0; i < t.length; i++) {
      if (t[i].startsWith('{')) continue;
      if (t[i] !== segments[i]) {
        ok = false;
        break;
      }
      statics++;
    }
    if (ok && (!best || statics > best.statics)) best = { tmpl: raw, statics };
  }
  return best?.tmpl ?? null;
}

/** The operation object for a method and path, or null when the spec has none. */
export function operation(method: string, path: string): Json | null {
  const tmpl = operationPath(path);
  return tmpl ? (spec().doc.paths[tmpl]?.[method.toLowerCase()] ?? null) : null;
}

/**
 * OpenAPI 3.0's `nullable: true`, which the spec still uses in places (beside a `type` and `enum`, or a `$ref`), in JSON
 * Schema 2020-12 terms: the schema, or null. ajv's own reading of the keyword refuses it without a `type` and lets an
 * `enum` without null refuse null.
 */
function withNullableAsNull(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(withNullableAsNull);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) if (k !== 'nullable') out[k] = withNullableAsNull(v);
  if (schema.nullable !== true) return out;
  const { description, ...rest } = out;
  return { ...(description === undefined ? {} : { description }), anyOf: [rest, { type: 'null' }] };
}

/** Rewrites the spec's `#/components/...` refs to the registered document's id. */
function rebase(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema && typeof schema === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(schema)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi${v}` : rebase(v);
    return out;
  }
  return schema;
}

function validatorFor(key: string, schema: Json): ValidateFunction {
  const s = spec();
  let v = s.validators.get(key);
  if (!v) {
    v = s.ajv.compile(rebase(schema));
    s.validators.set(key, v);
  }
  return v;
}

/**
 * Checks an answer against the spec: a success against its operation's response schema for that status (or the
 * operation's `default`), an error against the spec's ErrorResponse. Returns the problems found ([] when it conforms);
 * throws when the spec has no such operation, so a test cannot pass by checking nothing.
 */
export function contractProblems(method: string, path: string, status: number, body: unknown): string[] {
  const op = operation(method, path);
  if (!op) throw new Error(`the spec has no operation ${method} ${path}`);
  let schema: Json;
  let key: string;
  if (status >= 400) {
    schema = { $ref: '#/components/schemas/ErrorResponse' };
    key = 'ErrorResponse';
  } else {
    const response = op.responses?.[String(status)] ?? op.responses?.default;
    if (!response) return [`the spec documents no ${status} answer for ${method} ${path} (it has ${Object.keys(op.responses ?? {}).join(', ')})`];
    schema = response.content?.['application/json']?.schema;
    if (!schema) return [];
    key = `${method} ${operationPath(path)} ${status}`;
  }
  const v = validatorFor(key, schema);
  if (v(body)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** The request body schema of an operation (resolved by the caller as needed), for sending the spec's own examples. */
export function requestSchema(method: string, path: string): Json | null {
  return operation(method, path)?.requestBody?.content?.['application/json']?.schema ?? null;
}

/** A component schema by name. */
export function componentSchema(name: string): Json {
  return spec().doc.components.schemas[name];
}

/**
 * Checks a value against one of the spec's component schemas (stream events and chunks, which no operation's JSON
 * answer describes: `ResponseStreamEvent`, `CreateChatCompletionStreamResponse`, …). Throws when the spec has no such
 * schema, so a test cannot pass by checking nothing.
 */
export function componentProblems(name: string, value: unknown): string[] {
  const schemas = spec().doc.components.schemas;
  if (!schemas[name]) throw new Error(`the spec has no schema ${name}`);
  // A union of events told apart by `type` (ResponseStreamEvent): checked against the branch of its type, so that a
  // problem is reported as that event's, not as a mismatch with every branch.
  const type = (value as { type?: unknown } | null)?.type;
  const branches: Json[] = schemas[name].anyOf ?? schemas[name].oneOf ?? [];
  const branch = branches
    .map((b) => b.$ref?.split('/').pop())
    .find((n: string | undefined) => n && schemas[n]?.properties?.type?.enum?.length === 1 && schemas[n].properties.type.enum[0] === type);
  if (branch) name = branch;
  const v = validatorFor(`#${name}`, { $ref: `#/components/schemas/${name}` });
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Every operation of the spec: method (upper case), path template and operationId. */
export function specOperations(): Array<{ method: string; path: string; operationId: string }> {
  const out: Array<{ method: string; path: string; operationId: string }> = [];
  for (const [path, item] of Object.entries(spec().doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(item)) if (op?.operationId) out.push({ method: method.toUpperCase(), path, operationId: op.operationId });
  }
  return out;
}
