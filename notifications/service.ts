/**
 * The notification service: a worker with no GraphQL of its own. It opens its database
 * (`notifications`: recipients, known interviews, emails), consumes `user-events` and
 * `interview-events` in `notification-service-group`, sends the queued emails through the
 * configured transport, and answers `/health`, `/ready` (database, Kafka, mail) and `/metrics`.
 */
import type { DatabaseConfig, KafkaConfig, MailConfig } from '../config';
import { CreateProcessedEventTable, ProcessedEventSchema } from '../events/consumers';
import { KafkaService } from '../events';
import { createLease, CreateRelayLeaseTable, replicaId } from '../events/outbox';
import { openDatabase, type Database } from '../lib/database';
import { createProbeServer, type GraphQLHttpServer, type Route } from '../lib/http-server';
import { silentLogger, type Logger } from '../lib/logger';
import { NOTIFICATIONS_GROUP, notificationHandlers } from './consumers';
import { createDelivery, type Delivery } from './delivery';
import { CreateNotificationTables, Email, entities } from './entities';
import { mailTransport, type MailTransport } from './mail';

export const NOTIFICATIONS_DATABASE = 'notifications';

export const migrations = [
  { name: '0001-processed-event', class: CreateProcessedEventTable },
  { name: '0002-notifications', class: CreateNotificationTables },
  { name: '0003-delivery-lease', class: CreateRelayLeaseTable },
];

export interface NotificationServiceOptions {
  host: string;
  /** Of `/health` and `/ready`; 0 picks a free port. */
  port: number;
  database: DatabaseConfig;
  /** SQLite file or PostgreSQL schema name (tests give each run its own). @default 'notifications' */
  databaseName?: string;
  kafka: KafkaConfig & { brokers: string[] };
  mail: MailConfig;
  /** Replaces the transport `mail` describes (a test's SMTP server is configured by URL instead). */
  transport?: MailTransport;
  /**
   * `false` consumes one event per transaction, the pre-batch path (the benchmark's baseline).
   * @default true
   */
  batchConsumers?: boolean;
  logger?: Logger;
}

export interface RunningNotificationService {
  /** Base URL of the probes, e.g. `http://127.0.0.1:4004`. */
  url: string;
  database: Database;
  kafka: KafkaService;
  delivery: Delivery;
  transport: MailTransport;
}

export interface NotificationService {
  start(): Promise<RunningNotificationService>;
  stop(): Promise<void>;
}

/** `GET /metrics`: the emails by state, in the Prometheus text format (alert on failed). */
function metricsRoute(database: Database): Route {
  return async (_req, res) => {
    const em = database.fork();
    const [pending, sent, failed] = await Promise.all([
      em.count(Email, { sentAt: null, failedAt: null }),
      em.count(Email, { sentAt: { $ne: null } }),
      em.count(Email, { failedAt: { $ne: null } }),
    ]);
    const lines = [
      '# TYPE notification_emails gauge',
      `notification_emails{state="pending"} ${pending}`,
      `notification_emails{state="sent"} ${sent}`,
      `notification_emails{state="failed"} ${failed}`,
      '# TYPE notification_process_resident_memory_bytes gauge',
      `notification_process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    ];
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`${lines.join('\n')}\n`);
  };
}

export function createNotificationService(
  options: NotificationServiceOptions,
): NotificationService {
  const log = (options.logger ?? silentLogger).child({ service: 'notifications' });
  let database: Database | undefined;
  let kafka: KafkaService | undefined;
  let delivery: Delivery | undefined;
  let transport: MailTransport | undefined;
  let http: GraphQLHttpServer | undefined;

  const stop = async () => {
    await http?.stop();
    await kafka?.stop();
    await delivery?.stop();
    transport?.close();
    await database?.close();
    log.info('notification service stopped');
  };

  return {
    async start() {
      try {
        database = await openDatabase({
          name: options.databaseName ?? NOTIFICATIONS_DATABASE,
          config: options.database,
          entities: [...entities, ProcessedEventSchema],
          migrations,
          logger: log,
        });
        transport = options.transport ?? mailTransport(options.mail);
        const running = { database, transport };
        // Replicas share the database: the one holding the lease sends the emails.
        delivery = createDelivery({
          ...running,
          logger: log,
          lease: createLease({
            database: running.database,
            name: 'mail-delivery',
            holder: replicaId(),
          }),
        });
        delivery.start();
        kafka = KafkaService.fromConfig('notification-service', options.kafka, log);
        await kafka.start();
        await kafka.subscribeBatch(
          NOTIFICATIONS_GROUP,
          notificationHandlers(
            database,
            delivery.notify,
            log.child({ consumer: NOTIFICATIONS_GROUP }),
          ),
          options.batchConsumers === false ? { batch: false } : {},
        );

        const { kafka: k, delivery: d } = { kafka, delivery };
        http = createProbeServer({
          host: options.host,
          port: options.port,
          routes: { '/metrics': metricsRoute(database) },
          readiness: async () => {
            const checks = {
              database: (await running.database.ping()) ? 'ok' : 'unreachable',
              kafka: k.ready() ? 'ok' : 'not ready',
              mail: d.ready() ? 'ok' : `retrying (${transport?.description})`,
            };
            return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
          },
        });
        const { port } = await http.start();
        const url = `http://${options.host}:${port}`;
        log.info('notification service ready', { url, mail: transport.description });
        return { url, ...running, kafka, delivery };
      } catch (error) {
        await stop().catch(() => undefined);
        throw error;
      }
    },
    stop,
  };
}
