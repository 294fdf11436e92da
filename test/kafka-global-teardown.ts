/**
 * Jest globalTeardown for the integration project: stops the broker the global setup started,
 * if it started one, and removes its data dir. A cluster named in KAFKA_BROKERS is left alone.
 */
import * as fs from 'node:fs/promises';
import { takeGlobalKafkaState } from './kafka-global-setup';

export default async function globalTeardown(): Promise<void> {
  const state = takeGlobalKafkaState();
  if (state === undefined) return;
  try {
    await state.kafka.stop();
  } finally {
    await fs.rm(state.tempDir, { recursive: true, force: true });
  }
}
