import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// The fake upstream the budget and limit suites share: every chat answer reports one input token and `out` output
// tokens of o1, priced O1_PRICING ($15/M input, $60/M output: 12,500 output tokens are $0.75).

export const O1_PRICING = { o1: { input: 15, output: 60 } };

/** What the upstream does, changeable while a test runs. */
export interface O1Control {
  /** Output tokens each answer reports (read when the request arrives). */
  out: number;
  /** Answers 502 instead (after counting the request). */
  fail: boolean;
  /** Holds each answer until its function in `held` is called. */
  hold: boolean;
  held: Array<() => void>;
  /** Requests that reached it. */
  reached: number;
}

export const o1Control = (o: Partial<O1Control> = {}): O1Control => ({ out: 12_500, fail: false, hold: false, held: [], reached: 0, ...o });

/** Starts the upstream on loopback: its `/v1` base URL, and how to stop it. */
export async function startO1Upstream(ctl: O1Control): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    ctl.reached++;
    if (ctl.fail) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"bad gateway"}}');
      return;
    }
    const out = ctl.out;
    if (ctl.hold) await new Promise<void>((r) => ctl.held.push(r));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'o1', choices: [], usage: { prompt_tokens: 1, completion_tokens: out, total_tokens: out + 1 } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    server,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
