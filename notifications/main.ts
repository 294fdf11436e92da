/**
 * `node dist/notifications/main.js` (built by `npm run build`; `node --import tsx
 * notifications/main.ts` from source): the notification service as a process. Reads the
 * configuration once (a bad environment prints every problem and exits 1), needs KAFKA_BROKERS
 * (`npm start` provides it), and stops cleanly on SIGINT/SIGTERM, giving up with exit 1 when a
 * stop hangs.
 */
import { loadConfigOrExit } from '../config';
import { createLogger } from '../lib/logger';
import { runMain, stopOnSignals } from '../lib/process';
import { createNotificationService } from './service';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const brokers = config.kafka.brokers;
  if (!brokers) {
    console.error(
      'The notification service needs Kafka: set KAFKA_BROKERS (e.g. KAFKA_BROKERS=127.0.0.1:9092), or use `npm start`, which starts a local broker',
    );
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { service: 'notifications' });
  const service = createNotificationService({
    host: config.host,
    port: config.notifications.port,
    database: config.database,
    kafka: { ...config.kafka, brokers },
    mail: config.mail,
    logger,
  });
  const { url, transport } = await service.start();
  console.log(`The notification service is ready at ${url} (mail: ${transport.description})`);

  stopOnSignals('notification service', () => service.stop(), logger);
}

runMain('The notification service', main);
