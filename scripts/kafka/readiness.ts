/**
 * When a started broker is ready for clients, and what to tell a human when it is not.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { indent, LocalKafkaError } from './errors';
import { readOrUndefined } from './system';

const LOG_TAIL_LINES = 8;

/**
 * Ready means what clients need: metadata answers, and the group coordinator has loaded (right
 * after start it answers COORDINATOR_LOAD_IN_PROGRESS for a while).
 * @throws {LocalKafkaError} when the process exits first or `timeoutMs` passes, with the broker
 * log's error lines and last lines.
 */
export async function waitUntilReady(
  brokers: string[],
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const kafka = new Kafka({
    clientId: 'local-kafka-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  let lastError = 'no attempt finished';
  while (Date.now() < deadline) {
    if (exit !== undefined) break;
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.listGroups();
      await admin.describeGroups(['local-kafka-readiness']);
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await Promise.race([sleep(250), exited]);
  }
  // Give an exit that raced the deadline a moment to be seen, so the message names the real cause.
  await Promise.race([exited, sleep(100)]);
  if (exit !== undefined) {
    const how = exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
    throw new LocalKafkaError(
      `The local Kafka broker exited before it was ready (${how}). Last lines of ${logFile}:\n${indent(await logTail(logFile))}`,
    );
  }
  throw new LocalKafkaError(
    `The local Kafka broker on ${brokers.join(',')} was not ready within ${timeoutMs / 1000} s (last error: ${lastError}). Last lines of ${logFile}:\n${indent(await logTail(logFile))}`,
  );
}

/**
 * What a human needs from the broker's log after a failure: its error lines (a failed start buries
 * the cause under pages of orderly shutdown) and then the last lines.
 */
async function logTail(logFile: string): Promise<string> {
  const text = (await readOrUndefined(logFile)) ?? '';
  // Config dumps are long tab-indented blocks; they are noise in an error message.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('\t'));
  const errors = [...new Set(lines.filter((l) => /\b(ERROR|FATAL)\b|Exception\b/.test(l)))].slice(
    -6,
  );
  const last = lines.slice(-LOG_TAIL_LINES).join('\n') || '(empty)';
  return errors.length === 0 ? last : `${errors.join('\n')}\n...\n${last}`;
}
