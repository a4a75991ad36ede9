import { describe, expect, it } from 'vitest';
import { mayNameObjects, requestRefs } from './object-refs.js';

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
});
