import { secretsRedacted, terminalSafe } from './output.js';

/** Where the CLI reads its environment and writes its output (tests pass their own). */
export interface CliIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Milliseconds since the epoch (the wall clock unless a test pins one). */
  clock?: () => number;
  /** All of standard input (`--password-stdin`). */
  readStdin?: () => Promise<string>;
  /**
   * Asks on the terminal without echoing the answer; fails when standard input is not a terminal, naming `stdinFlag`
   * (the command's way to pipe the answer in instead).
   */
  promptHidden?: (question: string, stdinFlag: string) => Promise<string>;
}

// The CLI's composition root: the one place it binds the process (environment, terminal, wall clock).
const processIo: CliIo & Required<Pick<CliIo, 'clock'>> = {
  env: process.env,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  clock: Date.now,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  promptHidden,
};

/** Reads one line from the terminal in raw mode, echoing nothing (Enter ends it, Ctrl-C or Ctrl-D cancels). */
function promptHidden(question: string, stdinFlag: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    if (!input.isTTY) return reject(new Error(`standard input is not a terminal: pipe the answer in with ${stdinFlag}`));
    let value = '';
    const finish = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || (ch === '\u0004' && !value)) return finish(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    process.stderr.write(question);
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}

/**
 * The IO with every line written made safe for a terminal (output.ts terminalSafe), and every secret on standard error
 * redacted (output.ts secretsRedacted; standard output carries the secrets a command is asked for), whoever writes it.
 */
function safeIo(io: CliIo): CliIo {
  return { ...io, out: (t) => io.out(terminalSafe(t)), err: (t) => io.err(terminalSafe(secretsRedacted(t))) };
}

let current: { io: CliIo; safe: CliIo } = { io: processIo, safe: safeIo(processIo) };

/** The IO of the command being run. */
export function cliIo(): CliIo {
  return current.safe;
}

/** The clock of the command being run. */
export function cliClock(): () => number {
  return current.io.clock ?? processIo.clock;
}

/** Runs fn with a different IO (restored afterwards). */
export async function withCliIo<T>(io: CliIo | undefined, fn: () => Promise<T>): Promise<T> {
  const previous = current;
  if (io) current = { io, safe: safeIo(io) };
  try {
    return await fn();
  } finally {
    current = previous;
  }
}

/** Whether output goes to the real terminal (progress bars only then). */
export function isProcessIo(): boolean {
  return current.io === processIo;
}
