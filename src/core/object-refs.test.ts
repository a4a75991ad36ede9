import { describe, expect, it } from 'vitest';
import { chatRefs, mayNameObjects, producedObjects, queriesStoredObjects, requestRefs } from './object-refs.js';

const ids = (body: unknown) => requestRefs(body).map((r) => `${r.type}:${r.id}`);

describe('mayNameObjects', () => {
  it('is false for bodies that name no object, so the hot path scans nothing for repeated members', () => {
    const chat = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Files, voices, videos and "quoted" words are text. \\ back\nslash, caf\u00e9, \u4e2d\u6587' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
      ],
      max_tokens: 10,
      stream_options: { include_usage: true },
    };
    expect(mayNameObjects(Buffer.from(JSON.stringify(chat)))).toBe(false);
    // Python's json.dumps escapes what is not ASCII: no such escape can spell a name.
    expect(mayNameObjects(Buffer.from('{"content":"caf\\u00e9 \\u4e2d \\"quoted\\" \\\\u0066"}'))).toBe(false);
  });

  it('is true for any spelling of a name that names an object, key or typed reference', () => {
    for (const text of [
      '{"file_ids":[]}',
      '{"FILE_IDS":[]}',
      '{"a":{"Vector_Store_Ids":[]}}',
      '{"type":"item_reference","id":"msg_1"}',
      '{"tools":[{"model":"ft:gpt-4o:x"}]}',
      '{"fil\\u0065_id":"x"}',
      '{"\\u0066ile_id":"x"}',
      '{"s\\u017Fkill_id":"x"}',
      '{"\u017fkill_id":"x"}',
      '{"s\u212aill_id":"x"}',
      '{"previous_response_id":"resp_1"}',
      '{"conversation":"conv_1"}',
      '{"voice":"alloy"}',
    ]) {
      expect(mayNameObjects(Buffer.from(text)), text).toBe(true);
    }
  });
});

describe('requestRefs', () => {
  it('reads a name in another case as Go’s encoding/json does, and no prototype member as a name', () => {
    expect(ids({ input: [{ type: 'input_file', FILE_ID: 'file-B' }] })).toEqual(['file:file-B']);
    expect(ids({ tools: [{ type: 'file_search', Vector_Store_Ids: ['vs_B'] }] })).toEqual(['vector_store:vs_B']);
    expect(ids({ container: { skills: [{ type: 'custom', \u017fkill_id: 'skill_B' }] } })).toEqual(['skill:skill_B']);
    expect(ids({ a: { constructor: 'x', toString: 'y', hasOwnProperty: 'z' } })).toEqual([]);
  });

  it('reads typed references and objects named by their id in any case (an upstream folding names reads them so)', () => {
    expect(ids({ data_source: { source: { type: 'file_id', ID: 'file-B' } } })).toEqual(['file:file-B']);
    expect(ids({ data_source: { source: { Type: 'file_id', Id: 'file-B' } } })).toEqual(['file:file-B']);
    expect(ids({ input: [{ TYPE: 'item_reference', id: 'msg_B' }] })).toEqual(['item:msg_B']);
    expect(ids({ input: [{ type: 'item_reference', İd: 'msg_B' }] })).toEqual([]); // İ folds to i̇, not i
    expect(ids({ conversation: { ID: 'conv_B' } })).toEqual(['conversation:conv_B']);
    expect(ids({ Conversation: { Id: 'conv_B' } })).toEqual(['conversation:conv_B']);
  });

  it('refuses 400 an object naming a member it decides on in two spellings, naming the member', () => {
    const refusal = (body: unknown) => {
      try {
        requestRefs(body);
        return null;
      } catch (e) {
        const err = e as { status: number; code: string; param: string | null };
        return [err.status, err.code, err.param];
      }
    };
    expect(refusal({ input: [{ type: 'item_reference', id: 'msg_A', ID: 'msg_B' }] })).toEqual([400, 'invalid_value', 'id']);
    expect(refusal({ source: { type: 'file_id', Type: 'x', id: 'file-A' } })).toEqual([400, 'invalid_value', 'type']);
    expect(refusal({ conversation: { id: 'conv_A', Id: 'conv_B' } })).toEqual([400, 'invalid_value', 'id']);
    // The exemptions' tags too: a citation whose container is named twice, a skill typed twice.
    const cited = { type: 'container_file_citation', container_id: 'cntr_A', Container_Id: 'cntr_B', file_id: 'cfile_1' };
    expect(refusal({ input: [{ content: [{ annotations: [cited] }] }] })).toEqual([400, 'invalid_value', 'container_id']);
    expect(refusal({ container: { skills: [{ type: 'anthropic', TYPE: 'custom', skill_id: 'pptx' }] } })).toEqual([400, 'invalid_value', 'type']);
    expect(refusal({ input: [{ type: 'message', content: 'x' }] })).toBeNull();
    // A reference typed in one spelling and a decoy in another: refused whichever spelling holds which.
    expect(refusal({ input: [{ Type: 'item_reference', type: 'message', id: 'msg_A' }] })).toEqual([400, 'invalid_value', 'type']);
  });

  it('reads two spellings in an object that can be no reference nor exemption as naming nothing (JSON schemas)', () => {
    // A tool's JSON schema with properties `id` and `ID`, `type` and `Type`: honest, and nothing an upstream reads as an id.
    const schema = { type: 'object', properties: { id: { type: 'string' }, ID: { type: 'integer' }, type: { type: 'string' }, Type: { type: 'string' } } };
    expect(requestRefs({ tools: [{ type: 'function', function: { name: 'f', parameters: schema } }] })).toEqual([]);
    expect(requestRefs({ tools: [{ name: 'f', input_schema: schema }], messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'toolu_1', input: { id: 'a', Id: 'b' } }] }] })).toEqual([]);
    // Files it names are still found: nothing exempts them.
    expect(requestRefs({ x: { id: 'a', ID: 'b', file_id: 'file-B' } }).map((r) => r.id)).toEqual(['file-B']);
    // An object named by its id stays strict: which conversation an upstream would continue is unknowable.
    expect(() => requestRefs({ conversation: { id: 'conv_A', Id: 'conv_B' } })).toThrow();
  });

  it('passes over metadata and JSON schemas only where the API puts them, never a member of that name elsewhere', () => {
    const file = { type: 'input_file', file_id: 'file-B' };
    // Where they are free text: metadata, function parameters, structured outputs' schemas.
    const schema = { type: 'object', properties: { file_id: { type: 'string', id: 'file-x' } }, default: { file_id: 'file-y' } };
    const free = {
      metadata: { file_id: 'file-m' },
      thread: { metadata: { file_id: 'file-m' }, messages: [{ role: 'user', content: 'x', metadata: { file_id: 'file-m' } }] },
      tools: [{ type: 'function', name: 'f', parameters: schema }, { type: 'function', function: { name: 'g', parameters: schema } }],
      text: { format: { type: 'json_schema', name: 'n', schema } },
      response_format: { type: 'json_schema', json_schema: { name: 'n', schema } },
      session: { tools: [{ type: 'function', name: 'f', parameters: schema }], tracing: { metadata: { file_id: 'file-m' } } },
      data_source: { source: { type: 'file_content', content: [], metadata: { file_id: 'file-m' } }, sampling_params: { text: { format: { schema } } } },
    };
    expect(ids(free)).toEqual([]);
    // A prompt variable is named by the client, and its value may be a file (found by an outside review): whatever its name.
    for (const name of ['doc', 'metadata', 'parameters', 'schema']) {
      expect(ids({ prompt: { id: 'pmpt_1', variables: { [name]: file } } }), name).toEqual(['file:file-B']);
      expect(ids({ session: { prompt: { id: 'pmpt_1', variables: { [name]: file } } } }), name).toEqual(['file:file-B']);
    }
    // Nor below an input item, a tool or a format in any other place.
    expect(ids({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'x', metadata: file }] }] })).toEqual(['file:file-B']);
    expect(ids({ tools: [{ type: 'file_search', schema: { vector_store_ids: ['vs_B'] } }] })).toEqual(['vector_store:vs_B']);
    expect(ids({ text: { parameters: file, format: { metadata: file } } })).toEqual(['file:file-B', 'file:file-B']);
    // A chat message's content and a query string are read whole (a query's `metadata[file_id]` is the body's metadata).
    expect(chatRefs({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-B' }, metadata: file }] }] })?.map((r) => r.id)).toEqual(['file-B', 'file-B']);
    expect(queriesStoredObjects({ data_source: { type: 'completions', source: { type: 'jsonl' }, input_messages: { parameters: { type: 'stored_completions' } } } })).toBe(true);
  });

  it('keeps its exemptions for tags in another case, and checks what they do not cover', () => {
    const cited = (o: Record<string, unknown>) => ids({ input: [{ content: [{ annotations: [o] }] }] });
    expect(cited({ TYPE: 'container_file_citation', Container_Id: 'cntr_A', File_Id: 'cfile_1' })).toEqual(['container:cntr_A']);
    expect(cited({ TYPE: 'container_file_citation', Container_Id: 'cntr_A', File_Id: 'file-B' })).toEqual(['container:cntr_A', 'file:file-B']);
    expect(ids({ container: { skills: [{ Type: 'anthropic', SKILL_ID: 'pptx' }] } })).toEqual([]);
  });
});

describe('chatRefs', () => {
  it("reads a message's content in any case", () => {
    const body = { model: 'm', messages: [{ role: 'user', Content: [{ type: 'file', file: { file_id: 'file-B' } }] }] };
    expect(chatRefs(body)?.map((r) => r.id)).toEqual(['file-B']);
    expect(() => chatRefs({ messages: [{ role: 'user', content: 'x', CONTENT: [{ type: 'file', file: { file_id: 'file-B' } }] }] })).toThrow(/'content'/);
  });
});

describe('queriesStoredObjects', () => {
  it('finds data sources that query stored objects, their type and source in any case', () => {
    expect(queriesStoredObjects({ data_source: { type: 'completions', source: { type: 'stored_completions' } } })).toBe(true);
    expect(queriesStoredObjects({ data_source: { type: 'completions', Source: { Type: 'stored_completions' } } })).toBe(true);
    expect(queriesStoredObjects({ data_source: { type: 'responses', SOURCE: { TYPE: 'responses' } } })).toBe(true);
    expect(queriesStoredObjects({ data_source: { Type: 'logs' } })).toBe(true);
    expect(queriesStoredObjects({ data_source: { type: 'jsonl', source: { type: 'file_id', id: 'file-A' } } })).toBe(false);
    // Two spellings: a query when either says so; an item schema with properties `type` and `Type` is none.
    expect(queriesStoredObjects({ data_source: { type: 'jsonl', Type: 'logs' } })).toBe(true);
    expect(queriesStoredObjects({ data_source: { type: 'completions', source: { type: 'file_id', Type: 'stored_completions' } } })).toBe(true);
    const schema = { type: 'object', properties: { type: { type: 'string' }, Type: { type: 'string' } } };
    expect(queriesStoredObjects({ data_source_config: { type: 'custom', item_schema: schema }, data_source: { type: 'jsonl', source: { type: 'file_id', id: 'file-A' } } })).toBe(false);
  });
});

describe('producedObjects', () => {
  it("reads an answer as sent, never refusing the upstream's own members", () => {
    expect(producedObjects({ object: 'batch', output_file_id: 'file-1', data: [{ id: 'a', ID: 'b', type: 'file_id' }] }).map((o) => o.id)).toEqual(['file-1', 'a']);
  });

  it("adopts no id from what the caller's side wrote into an answer, nor a result id outside the provider's result objects", () => {
    // An MCP server's tool list, an input schema echoed, a tool's environment: written by the caller's side.
    const response = {
      object: 'response',
      output: [
        { type: 'mcp_list_tools', server_label: 'b', tools: [{ name: 't', input_schema: { type: 'object', output_file_id: 'file-A', vector_store_id: 'vs_A' } }] },
        { type: 'message', content: [{ type: 'output_text', text: 'hi', annotations: [] }] },
      ],
      tools: [{ type: 'custom', name: 'x', input_schema: { file_id: 'file-A2' }, env: { container_id: 'cntr_A' } }],
      // A result key anywhere but in a batch or a fine-tuning job names nothing the provider made for this caller.
      nested: { output_file_id: 'file-A3', fine_tuned_model: 'ft:gpt-4o:a::x' },
    };
    expect(producedObjects(response)).toEqual([]);
    // In the provider's own result objects, and in a list of them, they are read.
    expect(producedObjects({ object: 'fine_tuning.job', fine_tuned_model: 'ft:gpt-4o:b::y', result_files: ['file-r'] }).map((o) => o.id).sort()).toEqual(['file-r', 'ft:gpt-4o:b::y']);
    expect(producedObjects({ object: 'list', data: [{ object: 'batch', output_file_id: 'file-o' }] }).map((o) => o.id)).toEqual(['file-o']);
  });

  it('takes a reasoning item handed back without its encrypted content for a reference to the stored one', () => {
    expect(requestRefs({ input: [{ type: 'reasoning', id: 'rs_A', summary: [] }] })).toEqual([{ type: 'item', id: 'rs_A', param: 'id' }]);
    // With its content, it carries what it stands for.
    expect(requestRefs({ input: [{ type: 'reasoning', id: 'rs_B', summary: [], encrypted_content: 'gAAA' }] })).toEqual([]);
  });

  it('reads the members that decide whether an id is checked in any case, two spellings refused', () => {
    const refusal = (body: unknown) => {
      try {
        return requestRefs(body).map((r) => r.id);
      } catch (e) {
        const err = e as { status: number; code: string; param: string | null };
        return [err.status, err.code, err.param];
      }
    };
    // A reasoning item's encrypted content: in another case it is the member read; given twice, either may be.
    expect(refusal({ input: [{ type: 'reasoning', id: 'rs_A', summary: [], Encrypted_Content: 'gAAA' }] })).toEqual([]);
    expect(refusal({ input: [{ type: 'reasoning', id: 'rs_A', summary: [], encrypted_content: 'gAAA', Encrypted_Content: null }] })).toEqual([400, 'invalid_value', 'encrypted_content']);
    expect(refusal({ input: [{ Type: 'reasoning', ID: 'rs_A', summary: [], encrypted_content: null }] })).toEqual(['rs_A']);
    expect(refusal({ input: [{ type: 'reasoning', id: 'rs_A', summary: [], encrypted_content: '' }] })).toEqual(['rs_A']);
    expect(refusal({ input: [{ type: 'reasoning', id: 'rs_A', ID: 'rs_B', summary: [], encrypted_content: 'gAAA' }] })).toEqual([400, 'invalid_value', 'id']);
    // An input item with no type (or a null one) is an item reference (openapi ItemReferenceParam), in any spelling.
    expect(refusal({ input: [{ id: 'msg_A' }, { type: null, ID: 'msg_B' }, { Type: null, id: 'msg_C' }] })).toEqual(['msg_C', 'msg_B', 'msg_A']);
    expect(refusal({ items: [{ id: 'msg_A' }] })).toEqual(['msg_A']);
    // Elsewhere an object with an id and no type names nothing (a prompt, a tool call's arguments).
    expect(refusal({ prompt: { id: 'pmpt_1', variables: {} }, tools: [{ type: 'function', name: 'f', parameters: {} }] })).toEqual([]);
  });
});
