import type { ServerResponse } from 'node:http';
import type { TokenCounts } from '../../core/pricing.js';
import type { UpstreamResponse } from '../../providers/types.js';
import { clientResponseHeaders } from './forward-headers.js';
import { eventData, SseSplitter } from './sse.js';
import { deltaText, tokensFromUsage } from './usage-extract.js';

export interface StreamResult {
  /** The stream ended properly ([DONE] or response.completed). */
  complete: boolean;
  tokens: TokenCounts | null;
  /** Generated text seen, for counting when the upstream reported no usage. */
  text: string;
}

const CUT_OFF = `data: ${JSON.stringify({
  error: { message: 'The upstream stream ended unexpectedly.', type: 'api_error', param: null, code: 'upstream_error' },
})}\n\n`;

/** The generated text of the relayed events (only needed when the upstream reported no usage). */
function answerText(data: string[]): string {
  let text = '';
  for (const d of data) {
    try {
      text += deltaText(JSON.parse(d));
    } catch {
      // not JSON: no text
    }
  }
  return text;
}

/**
 * Relays Server-Sent Events event by event as they arrive (never buffering the whole answer), reading `usage`
 * on the way. When the gateway asked for usage on the client's behalf, the extra usage-only chunk is dropped.
 * A stream cut off by the upstream ends with an OpenAI-shaped error event.
 */
export async function relayStream(
  raw: ServerResponse,
  res: UpstreamResponse,
  o: { injectUsage: boolean; admissionHeaders: Record<string, string>; isClientGone: () => boolean },
): Promise<StreamResult> {
  raw.writeHead(res.statusCode, {
    ...clientResponseHeaders(res.headers),
    ...o.admissionHeaders,
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  const splitter = new SseSplitter();
  let tokens: TokenCounts | null = null;
  let complete = false;
  // Only events that may carry usage are parsed; the others are kept (bounded) in case the upstream never reports
  // usage and the tokenizer has to count the answer.
  const contentData: string[] = [];
  try {
    for await (const chunk of res.body) {
      let out = '';
      for (const ev of splitter.push(chunk as Buffer)) {
        const data = eventData(ev);
        if (data === '[DONE]') complete = true;
        else if (data && (data.includes('"usage"') || data.includes('response.completed'))) {
          let obj: Record<string, unknown> | null = null;
          try {
            obj = JSON.parse(data);
          } catch {
            obj = null;
          }
          if (obj) {
            if (obj.usage) {
              tokens = tokensFromUsage(obj.usage) ?? tokens;
              if (o.injectUsage && Array.isArray(obj.choices) && obj.choices.length === 0) continue;
            }
            if (obj.type === 'response.completed') {
              complete = true;
              tokens = tokensFromUsage((obj.response as { usage?: unknown } | undefined)?.usage) ?? tokens;
            }
          }
          if (contentData.length < 20_000) contentData.push(data);
        } else if (data && contentData.length < 20_000) contentData.push(data);
        out += ev;
      }
      if (out) raw.write(out);
    }
    const rest = splitter.rest();
    if (rest.trim()) raw.write(rest);
  } catch {
    complete = false;
  }
  const text = tokens ? '' : answerText(contentData);
  // A client that went away gets its socket destroyed: ending a hijacked response to a half-closed socket
  // would leave the connection open and hold up graceful shutdown.
  if (o.isClientGone()) raw.destroy();
  else if (!raw.destroyed) {
    if (!complete) raw.write(CUT_OFF);
    raw.end();
  }
  return { complete, tokens, text };
}
