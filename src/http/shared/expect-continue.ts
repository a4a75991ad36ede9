import type { IncomingMessage, ServerResponse } from 'node:http';

// `Expect: 100-continue` (RFC 9110 §10.1.1): the client waits for `100 Continue` before it sends the body. Node writes
// it at once unless the server listens for 'checkContinue'; found by an outside review, a refused key got `100
// Continue` (inviting a body of up to the limit) before its 401. The server notes such requests here, and `100
// Continue` is written only where the request is let through to its body: the gateway after the key is checked, the
// admin API and dashboard at once (their bodies are small, and Fastify reads them before its hooks decide).

const awaiting = new WeakSet<IncomingMessage>();

/** Notes that the request's client waits for `100 Continue` before it sends its body. */
export function awaitContinue(req: IncomingMessage): void {
  awaiting.add(req);
}

/** Writes `100 Continue` if the request's client waits for it (once). */
export function continueIfAwaited(req: IncomingMessage, res: ServerResponse): void {
  if (awaiting.delete(req) && !res.headersSent) res.writeContinue();
}
