import net from 'node:net';

/** What came back on one raw connection. */
export interface RawExchange {
  /** Every byte the server sent, as latin1 text. */
  text: string;
  /** Whether the server closed the connection (rather than the quiet period ending it). */
  closed: boolean;
}

/**
 * Writes `parts` on one connection (a number waits that many ms) and collects what comes back, until the server closes
 * or sends nothing for `quietMs`. For what a client library would never send: pipelined requests, repeated headers.
 */
export function rawExchange(port: number, parts: string | Buffer | Array<string | Buffer | number>, quietMs = 1500): Promise<RawExchange> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), quietMs);
    };
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      arm();
    });
    s.on('error', () => {});
    s.on('close', () => done(true));
    s.on('connect', async () => {
      for (const p of Array.isArray(parts) ? parts : [parts]) {
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else s.write(p);
      }
      arm();
    });
  });
}

/** The status codes of every answer in a raw exchange, in order (interim 1xx answers included). */
export const statusesOf = (text: string): number[] => [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));

/** The body of the first answer in a raw exchange (assumes one answer with a content-length). */
export const firstBodyOf = (text: string): string => text.slice(text.indexOf('\r\n\r\n') + 4);
