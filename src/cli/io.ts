/** Where the CLI reads its environment and writes its output (tests pass their own). */
export interface CliIo {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Milliseconds since the epoch (the wall clock unless a test pins one). */
  clock?: () => number;
}

// The CLI's composition root: the one place it binds the process (environment, terminal, wall clock).
const processIo: Required<CliIo> = {
  env: process.env,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  clock: Date.now,
};

let current: CliIo = processIo;

/** The IO of the command being run. */
export function cliIo(): CliIo {
  return current;
}

/** The clock of the command being run. */
export function cliClock(): () => number {
  return current.clock ?? processIo.clock;
}

/** Runs fn with a different IO (restored afterwards). */
export async function withCliIo<T>(io: CliIo | undefined, fn: () => Promise<T>): Promise<T> {
  const previous = current;
  if (io) current = io;
  try {
    return await fn();
  } finally {
    current = previous;
  }
}

/** Whether output goes to the real terminal (progress bars only then). */
export function isProcessIo(): boolean {
  return current === processIo;
}
