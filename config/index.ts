/**
 * The platform's configuration, read from the environment once, at start.
 *
 * Every entry point calls {@link loadConfig} and hands each component only its typed slice;
 * nothing else in the codebase reads `process.env`. A bad environment is refused as a whole,
 * with every problem listed, so an operator fixes them in one pass.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { SERVICES, type ServiceName } from './services';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

const brokerList = z
  .string()
  .trim()
  .transform((raw) =>
    raw
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must look like host:port'))
      .min(1, 'name at least one broker, e.g. 127.0.0.1:9092'),
  );

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** `auto` (the default) or a number. */
const autoOr = (number: z.ZodType<number>) => z.union([z.literal('auto'), number]).default('auto');

const kafkaSchema = z.object({
  /** Brokers of an existing cluster. When unset, the run command starts a local broker. */
  KAFKA_BROKERS: brokerList.optional(),
  /**
   * Prepended to every topic and consumer group name, for several deployments on one cluster.
   * @default none
   */
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'may contain only letters, digits, ".", "_" and "-"')
    .optional(),
  /** Partitions for topics this platform creates when they are missing. @default 3 */
  KAFKA_TOPIC_PARTITIONS: int(1, 1000).default(3),
  /**
   * Replication factor for topics this platform creates: `auto` is 3 on a cluster of 3 or more
   * brokers, else the number of brokers. @default auto
   */
  KAFKA_REPLICATION_FACTOR: autoOr(int(1, 10)),
  /**
   * `min.insync.replicas` of the topics this platform creates, so that `acks=all` waits for that
   * many copies: `auto` is 2 with 3 or more replicas, else 1. @default auto
   */
  KAFKA_MIN_INSYNC_REPLICAS: autoOr(int(1, 10)),
  /** Handler attempts after the first failure before a message is dead-lettered. @default 3 */
  KAFKA_HANDLER_RETRIES: int(0, 20).default(3),
  /** Ceiling of the first retry's delay, doubled each attempt; each wait is jittered (lib/backoff.ts). @default 200 */
  KAFKA_HANDLER_RETRY_MS: int(0, 60_000).default(200),
  /**
   * A schema registry with Confluent's REST API (Confluent, Karapace, Redpanda, or Apicurio's
   * `.../apis/ccompat/v7`): services register the schemas they produce there and stamp each
   * message with its `schema-id`; consumers validate versions they do not know against it
   * (events/registry/). @default none
   */
  SCHEMA_REGISTRY_URL: z
    .url({
      protocol: /^https?$/,
      error: 'must be the http(s) URL of a schema registry, e.g. http://127.0.0.1:8081',
    })
    .optional(),
});

const localKafkaSchema = z.object({
  /** Apache Kafka version resolved from Maven Central for the local broker. @default '4.4.0' */
  LOCAL_KAFKA_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'must be a version such as 4.4.0')
    .default('4.4.0'),
  /** Client port of the local broker; 0 picks a free one. @default 9092 */
  LOCAL_KAFKA_PORT: int(0, 65535).default(9092),
  /** Where the local broker keeps its log. @default '.data/kafka' */
  LOCAL_KAFKA_DATA_DIR: z.string().min(1).default('.data/kafka'),
  /** Nodes of the local Kafka cluster (`npm run kafka -- --brokers N` overrides). @default 1 */
  LOCAL_KAFKA_NODES: int(1, 9).default(1),
  /** Java heap for the local broker, in MiB. @default 512 */
  LOCAL_KAFKA_HEAP_MB: int(128, 16_384).default(512),
});

const logSchema = z.object({
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /**
   * `json`: one JSON line per entry, for log collectors; `pretty`: one coloured line per entry,
   * for people (lib/logger.ts). @default json in production, pretty otherwise
   */
  LOG_FORMAT: z.enum(LOG_FORMATS).optional(),
  /**
   * OTLP/HTTP endpoint traces are exported to (`<endpoint>/v1/traces`, e.g.
   * `http://otel-collector:4318`); unset, tracing is off (lib/tracing.ts).
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ error: 'must be the OTLP/HTTP endpoint, e.g. http://otel-collector:4318' })
    .optional(),
  /** Set (https://no-color.org): no colours in the pretty format, whatever FORCE_COLOR says. */
  NO_COLOR: z.string().optional(),
  /**
   * Colours in the pretty format even when stderr is no terminal (`0` or `false`: none), as
   * `npm start` asks of its children, whose output it pipes to the terminal.
   * @default colours on a terminal only
   */
  FORCE_COLOR: z.string().optional(),
  /** `production` masks unexpected errors and turns introspection off by default. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
});

const port = int(0, 65535);

const databaseSchema = z.object({
  /**
   * PostgreSQL connection URL; each subgraph keeps its tables in a schema of its own there.
   * When unset, each subgraph uses an SQLite file in DATA_DIR.
   */
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  /** Folder for SQLite files and other local state. @default '.data' */
  DATA_DIR: z.string().min(1).default('.data'),
  /**
   * SQLite's `synchronous` setting (WAL mode). `normal`: a commit survives a crash of the
   * process, not a power cut (the last transactions may roll back, never half); no fsync per
   * commit. `full`: an fsync per commit. @default 'normal'
   */
  SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
});

const servicesSchema = z.object({
  /** @default 4000 */
  GATEWAY_PORT: port.default(4000),
  /** @default 4001 */
  USERS_PORT: port.default(4001),
  /** @default 4002 */
  INTERVIEWS_PORT: port.default(4002),
  /** @default 4003 */
  REPORTING_PORT: port.default(4003),
  /** The notification service's health and readiness endpoints. @default 4004 */
  NOTIFICATIONS_PORT: port.default(4004),
  /** Interface servers bind to. @default '127.0.0.1' */
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Gateway processes on GATEWAY_PORT (node:cluster), each with its own Kafka feed, to use more
   * than one core. @default 1
   */
  GATEWAY_WORKERS: int(1, 64).default(1),
  /** The composed supergraph the gateway serves. @default 'supergraph.graphql' */
  SUPERGRAPH_PATH: z.string().min(1).default('supergraph.graphql'),
  /** The web app's build (`npm run build:web`), served at `/`. @default 'dist/web' */
  WEB_APP_DIR: z.string().min(1).default('dist/web'),
  /** Deepest selection nesting the gateway accepts. @default 12 */
  GATEWAY_MAX_DEPTH: int(1, 100).default(12),
  /** Most fields, aliases included, in one operation. @default 1000 */
  GATEWAY_MAX_FIELDS: int(1, 100_000).default(1000),
  /** Largest request body, in bytes. @default 102400 */
  GATEWAY_MAX_BODY_BYTES: int(1024, 10_485_760).default(102_400),
  /** Results held per live subscriber that does not read; the oldest are dropped beyond. @default 100 */
  SUBSCRIPTION_QUEUE_LIMIT: int(1, 100_000).default(100),
  /** Events per topic the gateway keeps in memory for clients that resume. @default 10000 */
  SUBSCRIPTION_RECENT_EVENTS: int(0, 1_000_000).default(10_000),
  /**
   * WebSocket ping interval, ms; a client that has not answered by the next ping is cut off (so
   * a client that reads nothing for about twice this long is dropped). @default 12000
   */
  WS_KEEPALIVE_MS: int(1_000, 3_600_000).default(12_000),
  /** Sign-in (`/auth/*`) and webhook requests per client address and minute; 0: no limit. @default 300 */
  RATE_LIMIT_AUTH_PER_MINUTE: int(0, 1_000_000).default(300),
  /** ... of which this many at once. @default 100 */
  RATE_LIMIT_AUTH_BURST: int(1, 1_000_000).default(100),
  /** `subscribe` messages per WebSocket connection and second; 0: no limit. @default 20 */
  RATE_LIMIT_SUBSCRIBE_PER_SECOND: int(0, 1_000_000).default(20),
  /** ... of which this many at once. @default 100 */
  RATE_LIMIT_SUBSCRIBE_BURST: int(1, 1_000_000).default(100),
  /**
   * Load balancers in front of the gateway, by address (`10.0.0.5,10.0.0.6`): their
   * `X-Forwarded-For` names the client that rate limits count. @default none
   */
  TRUSTED_PROXIES: z.string().optional(),
  /**
   * Routes subgraphs elsewhere than the supergraph says: `users=http://host:port/graphql,...`.
   * @default none
   */
  GATEWAY_SUBGRAPH_URLS: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^[A-Za-z_][\w-]*=https?:\/\/\S+$/,
            'each entry must look like name=http://host:port/path',
          ),
      ),
    )
    .default([]),
  /** Origins allowed by CORS, comma-separated; `*` for any. @default Apollo Studio and localhost */
  CORS_ORIGINS: z.string().default('https://studio.apollographql.com,http://localhost:3000'),
  /**
   * `false` turns on @apollo/gateway's anonymous usage telemetry to Apollo (Apollo's own
   * variable, which defaults to on; ours is off: see gateway/apollo-telemetry.ts). @default true
   */
  APOLLO_TELEMETRY_DISABLED: z
    .enum(['true', 'false', '1', '0'], 'must be true or false')
    .default('true')
    .transform((value) => value === 'true' || value === '1'),
});

const identitySchema = z.object({
  /** OpenID Connect issuer URL (Authentik in production). Unset: `npm start` runs a development IdP. */
  OIDC_ISSUER: z
    .url({
      error: 'must be the issuer URL, e.g. https://auth.example.com/application/o/interview-graph/',
    })
    .optional(),
  /** OAuth client id registered at the issuer. @default 'interview-graph' */
  OIDC_CLIENT_ID: z.string().min(1).default('interview-graph'),
  /** OAuth client secret registered at the issuer. */
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /** Expected `aud` of access tokens. @default OIDC_CLIENT_ID */
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** Claim holding the user's groups; the group `admin` grants the admin role. @default 'groups' */
  OIDC_GROUPS_CLAIM: z.string().min(1).default('groups'),
  /**
   * Where sign-in keeps sessions, pending sign-ins, webhook deliveries and its events' outbox:
   * `database` (the gateway's own; shared by replicas, kept across restarts) or `memory` (one
   * instance; ~20 MB less RSS). @default database in production, memory otherwise
   */
  SIGN_IN_STORE: z.enum(['database', 'memory']).optional(),
  /**
   * `SameSite` of the session cookie. `none` lets pages on another site that CORS_ORIGINS allows
   * (Apollo Sandbox on studio.apollographql.com) send it, with credentials, and needs an https
   * PUBLIC_URL (browsers drop a SameSite=None cookie that is not Secure). @default 'lax'
   */
  SESSION_COOKIE_SAMESITE: z.enum(['lax', 'strict', 'none']).default('lax'),
  /** The gateway's public URL, for redirect URIs and Secure cookies. @default http://HOST:GATEWAY_PORT */
  PUBLIC_URL: z
    .url({ error: 'must be the public URL of the gateway, e.g. https://graph.example.com' })
    .optional(),
  /**
   * Key the gateway signs its short-lived identity tokens for the subgraphs with; subgraphs
   * refuse requests without a valid one. At least 32 characters. `npm start` generates one.
   */
  INTERNAL_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Shared secret of the Authentik registration webhook (HMAC-SHA256 signature). */
  AUTHENTIK_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

const mailSchema = z.object({
  /**
   * SMTP server the notification service sends through, e.g. `smtps://user:pass@mail.example.com`.
   * When unset, each message is written as an `.eml` file to MAIL_DIR instead.
   */
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  /** Sender of the platform's emails. @default 'Interview Graph <no-reply@interview-graph.local>' */
  MAIL_FROM: z
    .string()
    .regex(/^([^<>]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/, {
      error: 'must be an address, e.g. "Interview Graph <no-reply@example.com>"',
    })
    .default('Interview Graph <no-reply@interview-graph.local>'),
  /** Folder of the `.eml` files written when SMTP_URL is unset. @default DATA_DIR/mail */
  MAIL_DIR: z.string().min(1).optional(),
});

const envSchema = kafkaSchema
  .extend(localKafkaSchema.shape)
  .extend(logSchema.shape)
  .extend(databaseSchema.shape)
  .extend(servicesSchema.shape)
  .extend(identitySchema.shape)
  .extend(mailSchema.shape);

/** Every environment variable the platform reads, for docs and for deployment files' checks. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

/** The defaults applied to an unset variable, e.g. to compare deployment files with. */
export const CONFIG_DEFAULTS = envSchema.parse({});

/** Thrown by {@link loadConfig}; `problems` holds one line per invalid variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** The variables, parsed: what every process's schema starts from. */
type Env = z.output<typeof envSchema>;

/**
 * The typed slices of `e` that the entry points hand their components; a process whose schema
 * makes a variable required narrows its slice (see {@link loadSubgraphConfig}).
 */
function slices(e: Env) {
  return {
    identity: {
      /** `undefined`: no issuer configured (development IdP in `npm start`). */
      issuer: e.OIDC_ISSUER,
      clientId: e.OIDC_CLIENT_ID,
      clientSecret: e.OIDC_CLIENT_SECRET,
      audience: e.OIDC_AUDIENCE ?? e.OIDC_CLIENT_ID,
      groupsClaim: e.OIDC_GROUPS_CLAIM,
      /** Unset: `database` in production or with several workers, `memory` otherwise. */
      signInStore: e.SIGN_IN_STORE,
      publicUrl: (e.PUBLIC_URL ?? `http://${e.HOST}:${e.GATEWAY_PORT}`).replace(/\/$/, ''),
      sessionCookieSameSite: e.SESSION_COOKIE_SAMESITE,
      internalTokenSecret: e.INTERNAL_TOKEN_SECRET,
      webhookSecret: e.AUTHENTIK_WEBHOOK_SECRET,
    },
    kafka: {
      /** `undefined`: no cluster configured, use (or start) the local broker. */
      brokers: e.KAFKA_BROKERS,
      topicPrefix: e.KAFKA_TOPIC_PREFIX ?? '',
      topicPartitions: e.KAFKA_TOPIC_PARTITIONS,
      /** `auto`: decided from the cluster's size when the topics are created. */
      replicationFactor: e.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: e.KAFKA_MIN_INSYNC_REPLICAS,
      handlerRetries: e.KAFKA_HANDLER_RETRIES,
      handlerRetryMs: e.KAFKA_HANDLER_RETRY_MS,
      /** Absent: no registry, no `schema-id` headers. */
      ...(e.SCHEMA_REGISTRY_URL ? { schemaRegistryUrl: e.SCHEMA_REGISTRY_URL } : {}),
    },
    localKafka: {
      version: e.LOCAL_KAFKA_VERSION,
      port: e.LOCAL_KAFKA_PORT,
      nodes: e.LOCAL_KAFKA_NODES,
      dataDir: e.LOCAL_KAFKA_DATA_DIR,
      heapMb: e.LOCAL_KAFKA_HEAP_MB,
    },
    database: {
      /** `undefined`: SQLite files in `dataDir`. */
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    },
    gateway: {
      supergraphPath: e.SUPERGRAPH_PATH,
      webAppDir: e.WEB_APP_DIR,
      maxDepth: e.GATEWAY_MAX_DEPTH,
      maxFields: e.GATEWAY_MAX_FIELDS,
      maxBodyBytes: e.GATEWAY_MAX_BODY_BYTES,
      subscriptionQueueLimit: e.SUBSCRIPTION_QUEUE_LIMIT,
      subscriptionRecentEvents: e.SUBSCRIPTION_RECENT_EVENTS,
      webSocketKeepAliveMs: e.WS_KEEPALIVE_MS,
      /** Processes sharing the port. */
      workers: e.GATEWAY_WORKERS,
      /** Load balancers whose `X-Forwarded-For` names the client (TRUSTED_PROXIES). */
      trustedProxies: (e.TRUSTED_PROXIES ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
      /** `false`: that limit is off (0 in the environment). */
      rateLimits: {
        routes:
          e.RATE_LIMIT_AUTH_PER_MINUTE === 0
            ? (false as const)
            : { perSecond: e.RATE_LIMIT_AUTH_PER_MINUTE / 60, burst: e.RATE_LIMIT_AUTH_BURST },
        subscribe:
          e.RATE_LIMIT_SUBSCRIBE_PER_SECOND === 0
            ? (false as const)
            : { perSecond: e.RATE_LIMIT_SUBSCRIBE_PER_SECOND, burst: e.RATE_LIMIT_SUBSCRIBE_BURST },
      },
      /** @apollo/gateway's telemetry to Apollo (APOLLO_TELEMETRY_DISABLED=false). */
      apolloTelemetry: !e.APOLLO_TELEMETRY_DISABLED,
      corsOrigins: e.CORS_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      /** Routing URL overrides by subgraph name. */
      subgraphUrls: Object.fromEntries(
        e.GATEWAY_SUBGRAPH_URLS.map((entry) => {
          const at = entry.indexOf('=');
          return [entry.slice(0, at), entry.slice(at + 1)];
        }),
      ) as Record<string, string>,
    },
    /** The port of each process of config/services.ts. */
    ports: Object.fromEntries(SERVICES.map((s) => [s.name, e[s.portVariable]])) as Record<
      ServiceName,
      number
    >,
    mail: {
      /** `undefined`: write `.eml` files to `dir`. */
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM,
      dir: e.MAIL_DIR ?? join(e.DATA_DIR, 'mail'),
    },
    host: e.HOST,
    environment: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'production' ? 'json' : 'pretty'),
    /** `undefined`: tracing off. */
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    /** `undefined`: colours when stderr is a terminal (lib/logger.ts). */
    logColor: e.NO_COLOR
      ? false
      : e.FORCE_COLOR === undefined
        ? undefined
        : !['0', 'false'].includes(e.FORCE_COLOR.trim().toLowerCase()),
  };
}

/** The whole platform's configuration (`npm start`, tools and tests). */
export type PlatformConfig = ReturnType<typeof slices>;
export type KafkaConfig = PlatformConfig['kafka'];
export type LocalKafkaConfig = PlatformConfig['localKafka'];
/** `sqliteSynchronous` may be left out (tests): `normal`. */
export type DatabaseConfig = Omit<PlatformConfig['database'], 'sqliteSynchronous'> &
  Partial<Pick<PlatformConfig['database'], 'sqliteSynchronous'>>;
export type GatewayConfig = PlatformConfig['gateway'];
export type IdentityConfig = PlatformConfig['identity'];
export type MailConfig = PlatformConfig['mail'];

/** `schema`, but a missing variable is refused with "required: `why`". */
function required<T extends z.ZodType>(schema: T, why: string) {
  return z
    .unknown()
    .refine((value) => value !== undefined, { message: `required: ${why}`, abort: true })
    .pipe(schema as unknown as z.ZodType<z.output<T>, NonNullable<unknown> | null>);
}

const NEEDS_KAFKA =
  'the Kafka brokers, e.g. 127.0.0.1:9092 (`npm start` starts a local broker and sets it)';
const NEEDS_SECRET =
  'the key of the tokens the gateway signs for the subgraphs (the same value for the gateway and every subgraph, at least 32 characters); `npm start` generates one';

/**
 * The gateway's variables: INTERNAL_TOKEN_SECRET is required; sign-in (OIDC_ISSUER) is required
 * in production and needs OIDC_CLIENT_SECRET and KAFKA_BROKERS (its user events); several
 * workers share sessions only through the database.
 */
const gatewayEnvSchema = envSchema
  .extend({
    INTERNAL_TOKEN_SECRET: required(
      identitySchema.shape.INTERNAL_TOKEN_SECRET.unwrap(),
      NEEDS_SECRET,
    ),
  })
  .superRefine((e, ctx) => {
    const problem = (variable: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [variable], message });
    if (e.NODE_ENV === 'production' && !e.OIDC_ISSUER)
      problem(
        'OIDC_ISSUER',
        'required in production: sign-in (with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET)',
      );
    if (e.OIDC_ISSUER && !e.OIDC_CLIENT_SECRET)
      problem(
        'OIDC_CLIENT_SECRET',
        'required with OIDC_ISSUER: the client secret registered at the issuer',
      );
    if (e.OIDC_ISSUER && !e.KAFKA_BROKERS)
      problem(
        'KAFKA_BROKERS',
        `required with OIDC_ISSUER: sign-in publishes user events; ${NEEDS_KAFKA}`,
      );
    if (e.SESSION_COOKIE_SAMESITE === 'none' && !e.PUBLIC_URL?.startsWith('https:'))
      problem(
        'SESSION_COOKIE_SAMESITE',
        'none needs an https PUBLIC_URL: browsers drop a SameSite=None cookie that is not Secure',
      );
    if (e.OIDC_ISSUER && e.GATEWAY_WORKERS > 1 && e.SIGN_IN_STORE === 'memory')
      problem(
        'SIGN_IN_STORE',
        "must be database with GATEWAY_WORKERS > 1: a session kept in one worker's memory is unknown to the others",
      );
  });

/** A subgraph's variables: Kafka (its outbox and consumers) and the gateway's token key. */
const subgraphEnvSchema = envSchema.extend({
  KAFKA_BROKERS: required(kafkaSchema.shape.KAFKA_BROKERS.unwrap(), NEEDS_KAFKA),
  INTERNAL_TOKEN_SECRET: required(
    identitySchema.shape.INTERNAL_TOKEN_SECRET.unwrap(),
    NEEDS_SECRET,
  ),
});

/** The notification service's variables: Kafka (its consumers). */
const notificationsEnvSchema = envSchema.extend({
  KAFKA_BROKERS: required(kafkaSchema.shape.KAFKA_BROKERS.unwrap(), NEEDS_KAFKA),
});

/**
 * `env` parsed by `schema`. Empty strings count as unset, so `KAFKA_BROKERS=` behaves like no
 * variable at all.
 * @throws {ConfigError} listing every invalid variable.
 */
function parseEnv<S extends z.ZodType<Env>>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const value = present[String(issue.path[0])];
        return `${name}: ${issue.message}${value === undefined ? '' : ` (got ${JSON.stringify(value)})`}`;
      }),
    );
  }
  return parsed.data;
}

/**
 * The whole platform's configuration, every variable optional or defaulted (`npm start`, which
 * fills in what the processes need, tools and tests).
 * @throws {ConfigError} listing every invalid variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  return slices(parseEnv(envSchema, env));
}

/** The gateway's configuration (see {@link gatewayEnvSchema}). @throws {ConfigError} */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(gatewayEnvSchema, env);
  const config = slices(e);
  return {
    ...config,
    identity: { ...config.identity, internalTokenSecret: e.INTERNAL_TOKEN_SECRET },
  };
}

/** A subgraph's configuration: Kafka and INTERNAL_TOKEN_SECRET required. @throws {ConfigError} */
export function loadSubgraphConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(subgraphEnvSchema, env);
  const config = slices(e);
  return {
    ...config,
    kafka: { ...config.kafka, brokers: e.KAFKA_BROKERS },
    identity: { ...config.identity, internalTokenSecret: e.INTERNAL_TOKEN_SECRET },
  };
}

/** The notification service's configuration: Kafka required. @throws {ConfigError} */
export function loadNotificationsConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(notificationsEnvSchema, env);
  const config = slices(e);
  return { ...config, kafka: { ...config.kafka, brokers: e.KAFKA_BROKERS } };
}

/**
 * `load` (by default {@link loadConfig}) for entry points: a bad environment prints every
 * problem and exits 1, without a stack trace.
 */
export function loadConfigOrExit<T = PlatformConfig>(
  load: (env: NodeJS.ProcessEnv) => T = loadConfig as unknown as (env: NodeJS.ProcessEnv) => T,
  env: NodeJS.ProcessEnv = process.env,
): T {
  try {
    return load(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
