/**
 * The notification service: a worker with no GraphQL of its own. It opens its database
 * (`notifications`: recipients, known interviews, emails), consumes `user-events` and
 * `interview-events` in `notification-service-group`, sends the queued emails through the
 * configured transport, and answers `/health`, `/ready` (database, Kafka, mail) and `/metrics`.
 */
import type { DatabaseConfig, KafkaConfig, MailConfig } from '../config';
import { CreateProcessedEventTable, ProcessedEventSchema } from '../events/consumers';
import { KafkaService } from '../events';
import {
  createLease,
  createOutboxRelay,
  CreateOutboxTable,
  CreateRelayLeaseTable,
  OutboxMessageSchema,
  replicaId,
} from '../events/outbox';
import type { ErasureOptions } from '../events/erasure/options';
import { openDatabase, type Database } from '../lib/database';
import { Gauge, type Registry } from 'prom-client';
import { createProbeServer } from '../lib/http-server';
import { Lifecycle } from '../lib/lifecycle';
import { createMetricsRegistry, metricsRoute } from '../lib/metrics';
import { silentLogger, type Logger } from '../lib/logger';
import { NOTIFICATIONS_GROUP, notificationHandlers } from './consumers';
import { createDelivery, type Delivery } from './delivery';
import {
  AddRecipientForgottenAt,
  AddRecipientTimeZone,
  CreateNotificationTables,
  Email,
  entities,
} from './entities';
import { mailTransport, type MailTransport } from './mail';

export const NOTIFICATIONS_DATABASE = 'notifications';

export const migrations = [
  { name: '0001-processed-event', class: CreateProcessedEventTable },
  { name: '0002-notifications', class: CreateNotificationTables },
  { name: '0003-delivery-lease', class: CreateRelayLeaseTable },
  { name: '0004-recipient-time-zone', class: AddRecipientTimeZone },
  // The erasure saga's replies go out through an outbox of the service's own.
  { name: '0005-outbox', class: CreateOutboxTable },
  { name: '0006-recipient-forgotten', class: AddRecipientForgottenAt },
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
  /** Failures injected into the erasure saga's `forget-recipient` (tests). @default {} */
  erasure?: ErasureOptions;
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

/**
 * The service's metrics: the standard process ones (`notification_process_...`) and the emails
 * by state (alert on failed), counted in the database when scraped; its Kafka service adds the
 * `kafka_*` figures (events/kafka/metrics.ts).
 */
function notificationMetrics(database: Database): Registry {
  const registry = createMetricsRegistry('notification');
  new Gauge({
    name: 'notification_emails',
    help: 'Emails in the outbox, by state (pending, sent, failed)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const em = database.fork();
      const [pending, sent, failed] = await Promise.all([
        em.count(Email, { sentAt: null, failedAt: null }),
        em.count(Email, { sentAt: { $ne: null } }),
        em.count(Email, { failedAt: { $ne: null } }),
      ]);
      this.set({ state: 'pending' }, pending);
      this.set({ state: 'sent' }, sent);
      this.set({ state: 'failed' }, failed);
    },
  });
  return registry;
}

/** The notification service, not started: {@link NotificationService.start} runs it. */
export function createNotificationService(
  options: NotificationServiceOptions,
): NotificationService {
  const log = (options.logger ?? silentLogger).child({ service: 'notifications' });
  const lifecycle = new Lifecycle(log);

  const stop = async () => {
    await lifecycle.stop();
    log.info('notification service stopped');
  };

  return {
    start: () =>
      lifecycle.starting(async () => {
        const database = lifecycle.use(
          'database',
          await openDatabase({
            name: options.databaseName ?? NOTIFICATIONS_DATABASE,
            config: options.database,
            entities: [...entities, ProcessedEventSchema, OutboxMessageSchema],
            migrations,
            logger: log,
          }),
          (d) => d.close(),
        );
        const transport = lifecycle.use(
          'mail transport',
          options.transport ?? mailTransport(options.mail),
          (t) => t.close(),
        );
        // Replicas share the database: the one holding the lease sends the emails.
        const delivery = lifecycle.use(
          'mail delivery',
          createDelivery({
            database,
            transport,
            logger: log,
            lease: createLease({ database, name: 'mail-delivery', holder: replicaId() }),
          }),
          (d) => d.stop(),
        );
        delivery.start();
        const metrics = notificationMetrics(database);
        const kafka = lifecycle.use(
          'kafka',
          KafkaService.fromConfig('notification-service', options.kafka, log, metrics),
          (k) => k.stop(),
        );
        await kafka.start();
        const relay = lifecycle.use(
          'outbox relay',
          createOutboxRelay({
            database,
            kafka,
            logger: log,
            lease: createLease({ database, name: 'outbox-relay', holder: replicaId() }),
          }),
          (r) => r.stop(),
        );
        relay.start();
        await kafka.subscribeBatch(
          NOTIFICATIONS_GROUP,
          notificationHandlers(
            database,
            delivery.notify,
            log.child({ consumer: NOTIFICATIONS_GROUP }),
            {
              options: options.erasure,
              eventsCommitted: relay.notify,
            },
          ),
          options.batchConsumers === false ? { batch: false } : {},
        );

        const http = createProbeServer({
          host: options.host,
          port: options.port,
          routes: { '/metrics': metricsRoute(metrics) },
          readiness: async () => {
            const checks = {
              database: (await database.ping()) ? 'ok' : 'unreachable',
              kafka: kafka.ready() ? 'ok' : 'not ready',
              mail: delivery.ready() ? 'ok' : `retrying (${transport.description})`,
            };
            return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
          },
        });
        const { port } = await http.start();
        lifecycle.defer('http', () => http.stop());
        const url = `http://${options.host}:${port}`;
        log.info('notification service ready', { url, mail: transport.description });
        return { url, database, transport, kafka, delivery };
      }),
    stop,
  };
}
