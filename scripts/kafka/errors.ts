/**
 * The local broker's one error class, and the wording its messages share: each message is meant
 * for a human, as is, and says what to do next.
 */

/** Closes a message about a missing prerequisite: the local broker is only one way to get Kafka. */
export const NO_CLUSTER_HINT = 'or set KAFKA_BROKERS to use an existing cluster.';

/** A local broker that cannot be set up or started; `message` is meant for a human, as is. */
export class LocalKafkaError extends Error {
  override readonly name = 'LocalKafkaError';
}

/** Indents every line of quoted output (Maven's, the broker log's) by four spaces in a message. */
export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
