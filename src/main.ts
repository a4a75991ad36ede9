import { pino } from 'pino';
import { type Config, loadConfig } from './config/config.js';
import { startServer } from './server.js';

// The composition root: read config once, start, and shut down cleanly on SIGTERM/SIGINT.
// The configuration (LOG_LEVEL included) is validated before the logger is built from it, so a bad value gets the
// same readable error as every other setting instead of a stack trace from pino.
let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
const logger = pino({ level: config.logLevel });

async function main(): Promise<void> {
  const server = await startServer(config, { logger });
  const { runtime } = server;
  logger.info(
    { url: server.url, database: runtime.database.dialect, organization: runtime.org.id },
    `Tollgate listening on ${server.url}`,
  );
  if (runtime.orgCreated) {
    process.stdout.write(
      [
        '',
        `  Tollgate is ready at ${server.url} (organization ${runtime.org.id}, "Default project" created).`,
        '  Create an admin key (shown once) with:',
        '',
        '    npx tollgate admin-keys create --name ops',
        '',
      ].join('\n'),
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests and flushing usage');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'Tollgate failed to start');
  process.exit(1);
});
