/**
 * `node dist/notifications/main.js` (built by `npm run build`; `node --import tsx
 * notifications/main.ts` from source): the notification service as a process. Reads the
 * configuration once (a bad environment prints every problem and exits 1), needs KAFKA_BROKERS
 * (`npm start` provides it), and stops cleanly on SIGINT/SIGTERM, giving up with exit 1 when a
 * stop hangs.
 */
import { loadConfigOrExit, loadNotificationsConfig } from '../config';
import { createProcessLogger } from '../lib/logger';
import { startTracing } from '../lib/tracing';
import { runMain, stopOnSignals } from '../lib/process';
import { createNotificationService } from './service';

async function main(): Promise<void> {
  const config = loadConfigOrExit(loadNotificationsConfig);
  const logger = createProcessLogger(config, { service: 'notifications' });
  const tracing = await startTracing({
    service: 'notification-service',
    endpoint: config.otlpEndpoint,
  });
  const service = createNotificationService({
    host: config.host,
    port: config.ports.notifications,
    database: config.database,
    kafka: config.kafka,
    mail: config.mail,
    logger,
  });
  const { url, transport } = await service.start();
  console.log(`The notification service is ready at ${url} (mail: ${transport.description})`);

  stopOnSignals(
    'notification service',
    async () => {
      await service.stop();
      await tracing?.stop();
    },
    logger,
  );
}

runMain('The notification service', main);
