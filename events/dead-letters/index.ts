/**
 * Dead-letter tooling: list, show, replay and discard the messages consumers gave up on
 * (`<topic>.dlq`). record.ts is the pure part (records, references, filters, replay headers),
 * store.ts the Kafka part. The CLI is `scripts/dlq.ts`; admins also reach it through the
 * reporting subgraph's `deadLetters` and `replayDeadLetters`.
 */
export * from './record';
export * from './store';
