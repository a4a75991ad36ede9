import { runCli } from './main.js';

const code = await runCli(process.argv);
if (process.argv[2] !== 'serve') process.exit(code);
