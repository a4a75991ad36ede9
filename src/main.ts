import { pino } from 'pino';
import { loadConfig } from './config/config.js';
import { startServer } from './server.js';

// The composition root: read config once, start, and shut down cleanly on SIGTERM/SIGINT.
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const config = loadConfig(process.env);
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
