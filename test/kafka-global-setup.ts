/**
 * Jest globalSetup for the integration project: gives the tests a Kafka broker.
 *
 * With KAFKA_BROKERS set, that cluster is used and nothing is started. Otherwise a throwaway
 * local broker is started on free ports with a fresh data dir, and KAFKA_BROKERS is set here,
 * in jest's parent process, so every worker (spawned later) inherits it.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../config';
import { startLocalKafka, type LocalKafka } from '../scripts/kafka/local-kafka';

/** What setup hands to teardown; jest runs both in the same process. */
export interface GlobalKafkaState {
  kafka: LocalKafka;
  tempDir: string;
}

const STATE_KEY = Symbol.for('interview-graph.test.localKafka');

type WithState = typeof globalThis & { [STATE_KEY]?: GlobalKafkaState };

export function takeGlobalKafkaState(): GlobalKafkaState | undefined {
  const holder = globalThis as WithState;
  const state = holder[STATE_KEY];
  delete holder[STATE_KEY];
  return state;
}

export default async function globalSetup(): Promise<void> {
  // Read through loadConfig (not process.env directly), so a bad value fails here, listed.
  const config = loadConfig();
  if (config.kafka.brokers !== undefined) {
    console.log(
      `\nIntegration tests use the Kafka cluster in KAFKA_BROKERS: ${config.kafka.brokers.join(',')}`,
    );
    return;
  }
  const { version, heapMb } = config.localKafka;
  const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'local-kafka-test-'));
  const started = Date.now();
  let kafka: LocalKafka;
  try {
    kafka = await startLocalKafka({ version, port: 0, dataDir: tempDir, heapMb });
  } catch (error) {
    await fs.rm(tempDir, { recursive: true, force: true });
    throw error;
  }
  (globalThis as WithState)[STATE_KEY] = { kafka, tempDir };
  process.env.KAFKA_BROKERS = kafka.brokers.join(',');
  console.log(
    `\nIntegration tests use a local Kafka ${version} at ${process.env.KAFKA_BROKERS} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s; log: ${kafka.logFile})`,
  );
}
