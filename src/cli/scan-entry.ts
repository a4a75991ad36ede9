import { Command } from 'commander';
import { registerScanCommand } from './scan-command.js';

// A CLI with only `tollgate scan`, with the same global options and error handling as main.ts. It starts
// without loading the server stack, which the tests and the pre-commit hook's --hook-command use:
//   node --import tsx src/cli/scan-entry.ts scan --staged

const program = new Command('tollgate')
  .option('--json', 'print JSON for scripts')
  .option('--server <url>', 'the server to check found keys against (env TOLLGATE_URL)')
  .option('--admin-key <key>', 'admin key for --server (env TOLLGATE_ADMIN_KEY)')
  .showHelpAfterError();
registerScanCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
