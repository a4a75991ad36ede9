import type { IncomingMessage, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves a connection's pipelined requests one at a time, and none behind an answer that closed the connection.
 * RFC 9112 §9.6: a server that sends `Connection: close` must not process further requests on that connection. Node's
 * parser reads a pipelined request and emits it while the answer before it is still undecided; found by an outside
 * review, a request pipelined behind a refused key (401, connection: close) was authorized, forwarded and billed, its
 * answer thrown away with the connection. The same held behind a 413, a 408, a 503 while closing, a request cut
 * under way (live-requests.ts). Node queues the answer of such a request until the one before it has finished, and
 * hands it the socket only then (`res.socket` is null until its 'socket' event): it is served at that moment, and never
 * when the answer before it ended or destroyed the connection (Node then never hands the socket on).
 */
export function oneRequestAtATime(handler: Handler): Handler {
  const run = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    // Arrived after the connection was ended (a request in a later packet, behind a closing answer): not served.
    if (socket.destroyed || socket.writableEnded) return;
    handler(req, res);
  };
  return (req, res) => {
    if (res.socket) run(req, res);
    else res.once('socket', () => run(req, res));
  };
}
