/** One Server-Sent Event as a client reads it: its `event:` name (or null) and its parsed `data:` (or the raw text). */
export interface ReadEvent {
  event: string | null;
  data: unknown;
  raw: string;
}

/** The events of a whole SSE body (each ends with a blank line; `data: [DONE]` stays the string '[DONE]'). */
export function readEvents(body: string): ReadEvent[] {
  const out: ReadEvent[] = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    let event: string | null = null;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    const text = data.join('\n');
    let parsed: unknown = text;
    try {
      parsed = text === '[DONE]' ? text : JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    out.push({ event, data: parsed, raw: block });
  }
  return out;
}
