import { runCliCommand } from './main.js';

// The `tollgate` process. A command's output to a pipe is written asynchronously past the pipe's buffer (64 KiB): found
// by review, exiting as soon as the command returned cut `tollgate --json keys list | jq` at 65536 bytes, exit code 0.
// So the process exits only once standard output and error have taken everything; `serve` leaves the server running,
// and the process ends with it (main.ts, on SIGTERM or SIGINT).

// A reader that went away (`tollgate … | head -1`) is no failure of the command: what it would have read is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const { code, serving } = await runCliCommand(process.argv);
if (!serving) {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** Resolves once everything written to the stream before has been handed to the system (or the stream has failed). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.write('', () => resolve());
  });
}
