import { Command } from 'commander';
import { cliIo } from './io.js';
import { registerScanCommand } from './scan-command.js';

// A CLI with only `tollgate scan`, with the same global options and error handling as main.ts. It starts
// without loading the server stack, which the tests and the pre-commit hook's --hook-command use:
//   node --import tsx src/cli/scan-entry.ts scan --staged

const program = new Command('tollgate')
  .option('--json', 'print JSON for scripts')
  .option('--server <url>', 'the server to check found keys against (env TOLLGATE_URL)')
  .option('--admin-key <key>', 'admin key for --server (env TOLLGATE_ADMIN_KEY)')
  // Commander's own messages echo arguments (`unknown option '--admin-kye=sk-tg-admin-…'`): through the CLI's IO, which
  // redacts secrets on standard error (io.ts).
  .configureOutput({ writeOut: (t) => cliIo().out(t), writeErr: (t) => cliIo().err(t) })
  .showHelpAfterError();
registerScanCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  cliIo().err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
