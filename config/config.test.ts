import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DEFAULTS, CONFIG_VARIABLES, ConfigError, loadConfig } from './index';

describe('loadConfig', () => {
  it('gives working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.kafka).toEqual({
      brokers: undefined,
      topicPrefix: '',
      topicPartitions: 3,
      replicationFactor: 1,
      handlerRetries: 3,
      handlerRetryMs: 200,
    });
    expect(config.localKafka.port).toBe(9092);
    expect(config.logLevel).toBe('info');
  });

  it('splits and trims the broker list', () => {
    expect(loadConfig({ KAFKA_BROKERS: ' a:9092, b:9093 ,' }).kafka.brokers).toEqual([
      'a:9092',
      'b:9093',
    ]);
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
