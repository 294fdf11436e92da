import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CONFIG_DEFAULTS,
  CONFIG_VARIABLES,
  ConfigError,
  loadConfig,
  loadGatewayConfig,
  loadNotificationsConfig,
  loadSubgraphConfig,
} from './index';

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.kafka).toEqual({
      brokers: undefined,
      topicPrefix: '',
      topicPartitions: 3,
      replicationFactor: 'auto',
      minInsyncReplicas: 'auto',
      handlerRetries: 3,
      handlerRetryMs: 200,
    });
    expect(config.localKafka.port).toBe(9092);
    expect(config.logLevel).toBe('info');
  });

  it('logs pretty lines in development and JSON in production, unless LOG_FORMAT says', () => {
    expect(loadConfig({}).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'test' }).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'production' }).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(() => loadConfig({ LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT.*"text"/);
    expect(loadConfig({}).logColor).toBeUndefined();
    expect(loadConfig({ FORCE_COLOR: '1' }).logColor).toBe(true);
    expect(loadConfig({ FORCE_COLOR: '0' }).logColor).toBe(false);
    expect(loadConfig({ FORCE_COLOR: '1', NO_COLOR: '1' }).logColor).toBe(false);
  });

  it('writes emails to DATA_DIR/mail unless SMTP_URL or MAIL_DIR say otherwise', () => {
    expect(loadConfig({}).mail).toEqual({
      smtpUrl: undefined,
      from: 'Interview Graph <no-reply@interview-graph.local>',
      dir: join('.data', 'mail'),
    });
    expect(loadConfig({ DATA_DIR: '/var/lib/ig' }).mail.dir).toBe(join('/var/lib/ig', 'mail'));
    const configured = loadConfig({
      SMTP_URL: 'smtps://user:secret@mail.example.com:465',
      MAIL_FROM: 'hello@example.com',
      MAIL_DIR: '/tmp/mail',
    }).mail;
    expect(configured).toEqual({
      smtpUrl: 'smtps://user:secret@mail.example.com:465',
      from: 'hello@example.com',
      dir: '/tmp/mail',
    });
  });

  it('refuses a mail server that is not SMTP and a sender that is not an address', () => {
    expect(() => loadConfig({ SMTP_URL: 'http://mail.example.com' })).toThrow(
      /SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL \(got "http:\/\/mail.example.com"\)/,
    );
    expect(() => loadConfig({ MAIL_FROM: 'Interview Graph' })).toThrow(
      /MAIL_FROM: must be an address, e.g. "Interview Graph <no-reply@example.com>"/,
    );
    expect(loadConfig({ MAIL_FROM: 'IG <a@b.c>' }).mail.from).toBe('IG <a@b.c>');
  });

  it('splits and trims the broker list', () => {
    expect(loadConfig({ KAFKA_BROKERS: ' a:9092, b:9093 ,' }).kafka.brokers).toEqual([
      'a:9092',
      'b:9093',
    ]);
  });

  it('takes auto or a number of replicas, and refuses anything else by name', () => {
    const set = loadConfig({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: 'auto' });
    expect([set.kafka.replicationFactor, set.kafka.minInsyncReplicas]).toEqual([3, 'auto']);
    expect(() => loadConfig({ KAFKA_REPLICATION_FACTOR: 'all' })).toThrow(
      /KAFKA_REPLICATION_FACTOR: .*\(got "all"\)/,
    );
    expect(() => loadConfig({ KAFKA_MIN_INSYNC_REPLICAS: '0' })).toThrow(
      /KAFKA_MIN_INSYNC_REPLICAS/,
    );
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ KAFKA_BROKERS: '' }).kafka.brokers).toBeUndefined();
  });

  it('lists every problem at once, naming the variable and the value', () => {
    let error: unknown;
    try {
      loadConfig({ KAFKA_BROKERS: 'localhost', KAFKA_TOPIC_PARTITIONS: 'many', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/KAFKA_BROKERS.*host:port.*"localhost"/);
    expect(problems.join('\n')).toMatch(/KAFKA_TOPIC_PARTITIONS.*"many"/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL.*"loud"/);
    expect((error as Error).message).toMatch(/^Invalid configuration:\n {2}- /);
  });
});

describe('configuration per process', () => {
  const SECRET = 's'.repeat(32);
  /** The lines of the ConfigError `load(env)` throws. */
  const problems = (load: (env: NodeJS.ProcessEnv) => unknown, env: NodeJS.ProcessEnv) => {
    try {
      load(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('the configuration was accepted');
  };

  it('a subgraph needs KAFKA_BROKERS and INTERNAL_TOKEN_SECRET, each named with the reason', () => {
    expect(problems(loadSubgraphConfig, {})).toEqual([
      expect.stringMatching(/^KAFKA_BROKERS: required: the Kafka brokers/),
      expect.stringMatching(/^INTERNAL_TOKEN_SECRET: required: the key of the tokens/),
    ]);
    const config = loadSubgraphConfig({ KAFKA_BROKERS: 'k:9092', INTERNAL_TOKEN_SECRET: SECRET });
    expect(config.kafka.brokers).toEqual(['k:9092']);
    expect(config.identity.internalTokenSecret).toBe(SECRET);
  });

  it('the notification service needs KAFKA_BROKERS only', () => {
    expect(problems(loadNotificationsConfig, {})).toEqual([
      expect.stringMatching(/^KAFKA_BROKERS: required/),
    ]);
    expect(loadNotificationsConfig({ KAFKA_BROKERS: 'k:9092' }).kafka.brokers).toEqual(['k:9092']);
  });

  it('the gateway needs INTERNAL_TOKEN_SECRET, and sign-in in production', () => {
    expect(problems(loadGatewayConfig, {})).toEqual([
      expect.stringMatching(/^INTERNAL_TOKEN_SECRET: required/),
    ]);
    expect(loadGatewayConfig({ INTERNAL_TOKEN_SECRET: SECRET }).kafka.brokers).toBeUndefined();
    expect(
      problems(loadGatewayConfig, { NODE_ENV: 'production', INTERNAL_TOKEN_SECRET: SECRET }),
    ).toEqual([expect.stringMatching(/^OIDC_ISSUER: required in production/)]);
  });

  it('takes SESSION_COOKIE_SAMESITE=none only with an https PUBLIC_URL', () => {
    expect(
      problems(loadGatewayConfig, {
        INTERNAL_TOKEN_SECRET: SECRET,
        SESSION_COOKIE_SAMESITE: 'none',
      }),
    ).toEqual([expect.stringMatching(/^SESSION_COOKIE_SAMESITE: none needs an https PUBLIC_URL/)]);
    expect(
      loadGatewayConfig({
        INTERNAL_TOKEN_SECRET: SECRET,
        SESSION_COOKIE_SAMESITE: 'none',
        PUBLIC_URL: 'https://graph.example.com',
      }).identity.sessionCookieSameSite,
    ).toBe('none');
    expect(
      loadGatewayConfig({ INTERNAL_TOKEN_SECRET: SECRET }).identity.sessionCookieSameSite,
    ).toBe('lax');
    expect(
      problems(loadGatewayConfig, { INTERNAL_TOKEN_SECRET: SECRET, SESSION_COOKIE_SAMESITE: 'x' }),
    ).toEqual([expect.stringMatching(/^SESSION_COOKIE_SAMESITE: /)]);
  });

  it('the gateway refuses sign-in without its secret and Kafka, and workers with memory sessions', () => {
    expect(
      problems(loadGatewayConfig, {
        INTERNAL_TOKEN_SECRET: SECRET,
        OIDC_ISSUER: 'https://idp.example.com/',
        GATEWAY_WORKERS: '2',
        SIGN_IN_STORE: 'memory',
      }),
    ).toEqual([
      expect.stringMatching(/^OIDC_CLIENT_SECRET: required with OIDC_ISSUER/),
      expect.stringMatching(/^KAFKA_BROKERS: required with OIDC_ISSUER/),
      expect.stringMatching(/^SIGN_IN_STORE: must be database with GATEWAY_WORKERS > 1.*"memory"/),
    ]);
    const config = loadGatewayConfig({
      INTERNAL_TOKEN_SECRET: SECRET,
      OIDC_ISSUER: 'https://idp.example.com/',
      OIDC_CLIENT_SECRET: 'client-secret',
      KAFKA_BROKERS: 'k:9092',
      GATEWAY_WORKERS: '2',
    });
    expect(config.identity.issuer).toBe('https://idp.example.com/');
  });

  it('the whole platform (npm start) requires none of them, and lists every port', () => {
    expect(loadConfig({}).ports).toEqual({
      users: 4001,
      interviews: 4002,
      reporting: 4003,
      notifications: 4004,
      gateway: 4000,
    });
  });
});

describe('the README', () => {
  it('documents every configuration variable, with its default', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    for (const name of CONFIG_VARIABLES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      expect(row).toBeDefined();
      const fallback = CONFIG_DEFAULTS[name as keyof typeof CONFIG_DEFAULTS];
      if (typeof fallback === 'string' || typeof fallback === 'number') {
        expect(row).toContain(`\`${fallback}\``);
      }
    }
  });
});
