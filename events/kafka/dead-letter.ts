/**
 * Where a message goes that no handler will take (invalid, or its handler failed for good): the
 * dead-letter topic of its topic, with its key, value and headers as they were and `dlq-*`
 * headers saying why, where it came from and after how many attempts; then a `handler.failed`
 * announcement. The consumer resolves the message's offset only after this resolved.
 */
import type { KafkaMessage } from 'kafkajs';
import type { Logger } from '../../lib/logger';
import type { DomainEvent } from '../catalog';
import type { Source } from '../envelope';
import { deadLetterTopic, type Topic } from '../topics';
import type { FieldIssue } from '../validate';
import type { OutgoingMessage } from './batcher';
import type { EventContext } from './consumer';
import { DEAD_LETTER_HEADERS } from './headers';
import type { Announce } from './producer';

/** What dead-lettering needs of the service. */
export interface DeadLetterOptions {
  /** The service that gave up on the message (`dlq-service`). */
  service: Source;
  /** The physical name of a logical topic. */
  topicName: (topic: Topic) => string;
  send: (item: OutgoingMessage) => Promise<void>;
  /** Announces `handler.failed`; without, nothing is announced. */
  announce?: Announce | undefined;
}

/** A message given up on. */
export interface Failure {
  /** Where the message came from. */
  context: EventContext;
  message: KafkaMessage;
  /** The physical consumer group that gave up on it. */
  groupId: string;
  /** Why, e.g. `handler failed: ...` or `invalid event: ...` (`dlq-reason`). */
  reason: string;
  /** Handler attempts made: 0 for an invalid message (`dlq-attempts`). */
  attempts: number;
  /** The event, when the message was a valid one. */
  event?: DomainEvent | undefined;
}

/** Sends a message to its dead-letter topic and announces `handler.failed`. */
export type DeadLetter = (failure: Failure, log: Logger) => Promise<void>;

/** Dead-lettering for the service `options` describes. */
export function createDeadLetter(options: DeadLetterOptions): DeadLetter {
  const { service, topicName, send, announce } = options;
  return async ({ context, message, groupId, reason, attempts, event }, log) => {
    const dlq = deadLetterTopic(topicName(context.topic));
    await send({
      topic: dlq,
      message: {
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [DEAD_LETTER_HEADERS.reason]: reason,
          [DEAD_LETTER_HEADERS.originalTopic]: topicName(context.topic),
          [DEAD_LETTER_HEADERS.originalPartition]: String(context.partition),
          [DEAD_LETTER_HEADERS.originalOffset]: context.offset,
          [DEAD_LETTER_HEADERS.groupId]: groupId,
          [DEAD_LETTER_HEADERS.service]: service,
          [DEAD_LETTER_HEADERS.attempts]: String(attempts),
          [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
        },
      },
    });
    log.warn('message dead-lettered', {
      reason,
      partition: context.partition,
      offset: context.offset,
      eventId: event?.eventId,
      deadLetterTopic: dlq,
    });
    await announce?.('handler.failed', {
      service,
      groupId,
      topic: topicName(context.topic),
      partition: context.partition,
      offset: context.offset,
      ...(event ? { eventId: event.eventId, eventType: event.eventType } : {}),
      error: reason,
      attempts,
      deadLetterTopic: dlq,
    });
  };
}

/** The `dlq-reason` of an invalid message: every failing field. */
export function invalidReason(issues: FieldIssue[]): string {
  return `invalid event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}
