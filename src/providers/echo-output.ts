import { nonEmptyArray, optionalBoolean, typeName } from './echo-checks.js';
import { valueFromSchema } from './echo-schema.js';
import { refuse } from './echo-wire.js';

// What the built-in model answers with, by the request's structured-output and tool parameters, checked as OpenAI
// checks them: chat's `response_format`, `tools`, `tool_choice`, `parallel_tool_calls`, and the Responses API's
// `text.format`, `tools`, `tool_choice`. A forced tool call (`required`, or one function named) is a call of that
// function with arguments built from its parameters' schema; a JSON answer (`json_object`, `json_schema`) is JSON
// built from the echoed text. A schema it cannot build a conforming value of is refused, never answered with JSON
// that does not conform (test/echo-structured.test.ts).

type Body = Record<string, unknown>;

/** The echo's answer: its text, JSON (a text that parses, by the schema), or a call of one function. */
export type EchoOutput = { kind: 'text' } | { kind: 'json'; build: (text: string) => string } | { kind: 'tool'; name: string; build: (text: string) => string };

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MODEL = "The built-in model 'tollgate-echo'";

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null;

function object(v: unknown, param: string): Body {
  if (!isObject(v)) refuse('invalid_type', `Invalid type for '${param}': expected an object, but got ${typeName(v)} instead.`, param);
  return v as Body;
}

function requiredString(parent: Body, name: string, at: string): string {
  const v = parent[name];
  const param = `${at}.${name}`;
  if (!present(v)) refuse('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
  if (typeof v !== 'string') refuse('invalid_type', `Invalid type for '${param}': expected a string, but got ${typeName(v)} instead.`, param);
  return v as string;
}

function oneOf(v: unknown, param: string, values: readonly string[]): string {
  if (!present(v)) refuse('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
  if (typeof v !== 'string') refuse('invalid_type', `Invalid type for '${param}': expected a string, but got ${typeName(v)} instead.`, param);
  if (!values.includes(v as string)) {
    const list = values.map((x) => `'${x}'`);
    refuse('invalid_value', `Invalid value: '${String(v).slice(0, 100)}'. Supported values are: ${list.slice(0, -1).join(', ')} and ${list.at(-1)}.`, param);
  }
  return v as string;
}

function functionName(name: string, param: string): string {
  if (!NAME.test(name)) {
    refuse('invalid_value', `Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`, param);
  }
  return name;
}

/** Builds a JSON text from `schema` for the echoed text, or refuses naming `param` (checked once, with sample text). */
function jsonBuilder(schema: unknown, param: string, what: string): (text: string) => string {
  if (valueFromSchema(schema, '') === null || valueFromSchema(schema, 'x') === null) {
    refuse('invalid_value', `Invalid schema for ${what}: ${MODEL} cannot build a value that surely conforms to it.`, param);
  }
  return (text) => {
    const built = valueFromSchema(schema, text) ?? valueFromSchema(schema, '');
    return JSON.stringify(built?.value ?? null);
  };
}

/** A function's arguments: an object built from its parameters' schema (none: no parameters, `{}`). */
function argumentsBuilder(parameters: unknown, param: string, name: string): (text: string) => string {
  if (!present(parameters)) return () => '{}';
  return jsonBuilder(parameters, param, `function '${name}'`);
}

const jsonObject = (text: string) => JSON.stringify({ echo: text });

/** Whether any text of `texts` says "json" in some form (OpenAI's condition for `json_object`). */
const saysJson = (texts: string[]) => texts.some((t) => /json/i.test(t));

/** A function tool as the decision needs it: its name and its parameters' schema, and where it was given. */
interface FunctionTool {
  name: string;
  parameters: unknown;
  at: string;
}

/** The choice among the tools: forced to one function, or left to the model (the echo then answers text). */
function chosenTool(choice: unknown, functions: FunctionTool[], hasTools: boolean, style: 'chat' | 'responses'): FunctionTool | null {
  if (!present(choice)) return null;
  if (!hasTools) {
    if (style === 'chat' || (choice !== 'auto' && choice !== 'none')) {
      refuse('invalid_value', "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
    }
    return null;
  }
  const named = (name: string, param: string) => {
    const tool = functions.find((f) => f.name === name);
    if (!tool) refuse('invalid_value', `Invalid value for '${param}': no function named '${name.slice(0, 64)}' is among 'tools'.`, param);
    return tool as FunctionTool;
  };
  const first = () => {
    if (functions.length === 0) refuse('invalid_value', `${MODEL} calls function tools only, and 'tools' has none.`, 'tool_choice');
    return functions[0];
  };
  if (typeof choice === 'string') {
    const mode = oneOf(choice, 'tool_choice', ['none', 'auto', 'required']);
    return mode === 'required' ? first() : null;
  }
  const c = object(choice, 'tool_choice');
  const type = typeof c.type === 'string' ? c.type : oneOf(c.type, 'tool_choice.type', ['function', 'allowed_tools']);
  if (type === 'function') {
    const name = style === 'chat' ? requiredString(object(c.function, 'tool_choice.function'), 'name', 'tool_choice.function') : requiredString(c, 'name', 'tool_choice');
    return named(name, style === 'chat' ? 'tool_choice.function.name' : 'tool_choice.name');
  }
  if (type === 'allowed_tools') {
    const allowed = style === 'chat' ? object(c.allowed_tools, 'tool_choice.allowed_tools') : c;
    const at = style === 'chat' ? 'tool_choice.allowed_tools' : 'tool_choice';
    const mode = oneOf(allowed.mode, `${at}.mode`, ['auto', 'required']);
    const list = nonEmptyArray(allowed.tools, `${at}.tools`);
    if (mode === 'auto') return null;
    for (const t of list) {
      const name = isObject(t) ? (style === 'chat' && isObject(t.function) ? t.function.name : t.name) : undefined;
      const tool = functions.find((f) => f.name === name);
      if (tool) return tool;
    }
    return refuse('invalid_value', `${MODEL} calls function tools only, and 'tool_choice.tools' names none of 'tools'.`, `${at}.tools`);
  }
  if (style === 'chat') return oneOf(type, 'tool_choice.type', ['function', 'allowed_tools', 'custom']) === 'custom' ? refuse('invalid_value', `${MODEL} calls function tools only.`, 'tool_choice') : null;
  // A hosted tool (web search, file search, code interpreter, …) forced: the echo runs none.
  return refuse('invalid_value', `${MODEL} runs no hosted tools: 'tool_choice' of type '${type.slice(0, 64)}' cannot be honoured.`, 'tool_choice');
}

/** Chat's `tools` (function and custom tools), checked; the function tools. */
function chatTools(v: unknown): FunctionTool[] {
  const out: FunctionTool[] = [];
  nonEmptyArray(v, 'tools').forEach((t, i) => {
    const at = `tools[${i}]`;
    const tool = object(t, at);
    const type = oneOf(tool.type, `${at}.type`, ['function', 'custom']);
    if (type === 'custom') {
      functionName(requiredString(object(tool.custom, `${at}.custom`), 'name', `${at}.custom`), `${at}.custom.name`);
      return;
    }
    const fn = object(present(tool.function) ? tool.function : refuse('missing_required_parameter', `Missing required parameter: '${at}.function'.`, `${at}.function`), `${at}.function`);
    const name = functionName(requiredString(fn, 'name', `${at}.function`), `${at}.function.name`);
    if (present(fn.parameters)) object(fn.parameters, `${at}.function.parameters`);
    out.push({ name, parameters: fn.parameters, at: `${at}.function.parameters` });
  });
  return out;
}

/** Responses' `tools`: function tools checked (name, parameters); hosted tools taken as they are (the echo runs none). */
function responsesTools(v: unknown): FunctionTool[] {
  if (!Array.isArray(v)) refuse('invalid_type', `Invalid type for 'tools': expected an array, but got ${typeName(v)} instead.`, 'tools');
  const out: FunctionTool[] = [];
  (v as unknown[]).forEach((t, i) => {
    const at = `tools[${i}]`;
    const tool = object(t, at);
    if (!present(tool.type)) refuse('missing_required_parameter', `Missing required parameter: '${at}.type'.`, `${at}.type`);
    if (tool.type !== 'function') return;
    const name = functionName(requiredString(tool, 'name', at), `${at}.name`);
    if (present(tool.parameters)) object(tool.parameters, `${at}.parameters`);
    out.push({ name, parameters: tool.parameters, at: `${at}.parameters` });
  });
  return out;
}

/** The chat request's answer: a forced function call, JSON by `response_format`, or text. `texts`: the messages' texts. */
export function chatOutput(body: Body, texts: () => string[]): EchoOutput {
  // The deprecated functions API: refused by name, never ignored (a forced function_call was answered with text).
  for (const param of ['functions', 'function_call']) {
    if (present(body[param])) refuse('invalid_value', `${MODEL} does not take the deprecated '${param}': send 'tools' and 'tool_choice' instead.`, param);
  }
  const hasTools = present(body.tools);
  const functions = hasTools ? chatTools(body.tools) : [];
  if (!hasTools && optionalBoolean(body, 'parallel_tool_calls') !== undefined) {
    refuse('invalid_value', "Invalid value for 'parallel_tool_calls': 'parallel_tool_calls' is only allowed when 'tools' are specified.", 'parallel_tool_calls');
  }
  const tool = chosenTool(body.tool_choice, functions, hasTools, 'chat');
  const format = present(body.response_format) ? object(body.response_format, 'response_format') : null;
  let json: EchoOutput | null = null;
  if (format) {
    const type = oneOf(format.type, 'response_format.type', ['text', 'json_object', 'json_schema']);
    if (type === 'json_object') {
      if (!saysJson(texts())) {
        refuse('invalid_value', "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages');
      }
      json = { kind: 'json', build: jsonObject };
    } else if (type === 'json_schema') {
      const spec = object(present(format.json_schema) ? format.json_schema : refuse('missing_required_parameter', "Missing required parameter: 'response_format.json_schema'.", 'response_format.json_schema'), 'response_format.json_schema');
      const name = functionName(requiredString(spec, 'name', 'response_format.json_schema'), 'response_format.json_schema.name');
      if (present(spec.schema)) object(spec.schema, 'response_format.json_schema.schema');
      json = { kind: 'json', build: jsonBuilder(spec.schema ?? {}, 'response_format', `response_format '${name}'`) };
    }
  }
  if (tool) return { kind: 'tool', name: tool.name, build: argumentsBuilder(tool.parameters, tool.at, tool.name) };
  return json ?? { kind: 'text' };
}

/** The Responses request's answer: a forced function call, JSON by `text.format`, or text. `texts`: the input's texts. */
export function responsesOutput(body: Body, texts: () => string[]): EchoOutput {
  const hasTools = present(body.tools) && !(Array.isArray(body.tools) && body.tools.length === 0);
  const functions = present(body.tools) ? responsesTools(body.tools) : [];
  const tool = chosenTool(body.tool_choice, functions, hasTools, 'responses');
  const text = present(body.text) ? object(body.text, 'text') : null;
  const format = text && present(text.format) ? object(text.format, 'text.format') : null;
  let json: EchoOutput | null = null;
  if (format) {
    const type = oneOf(format.type, 'text.format.type', ['text', 'json_object', 'json_schema']);
    if (type === 'json_object') {
      if (!saysJson(texts())) {
        refuse('invalid_value', "Response input messages must contain the word 'json' in some form to use 'text.format' of type 'json_object'.", 'input');
      }
      json = { kind: 'json', build: jsonObject };
    } else if (type === 'json_schema') {
      const name = functionName(requiredString(format, 'name', 'text.format'), 'text.format.name');
      if (!present(format.schema)) refuse('missing_required_parameter', "Missing required parameter: 'text.format.schema'.", 'text.format.schema');
      object(format.schema, 'text.format.schema');
      json = { kind: 'json', build: jsonBuilder(format.schema, 'text.format', `text.format '${name}'`) };
    }
  }
  if (tool) return { kind: 'tool', name: tool.name, build: argumentsBuilder(tool.parameters, tool.at, tool.name) };
  return json ?? { kind: 'text' };
}
