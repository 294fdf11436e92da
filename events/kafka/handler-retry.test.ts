/**
 * The retries of handler-retry.ts, without a broker: the dead-lettering it hands a failure to is
 * its explicit `deadLetter` parameter, recorded here. The real path is in kafka-service.int.test.ts.
 */
import type { Admin, KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { DomainError, InvalidInputError, NotFoundError } from '../../contracts/errors';
import { silentLogger } from '../../lib/logger';
import { UserEventFactory } from '../factories';
import { EventValidationError } from '../validate';
import type { EventContext } from './consumer';
import type { Failure } from './dead-letter';
import { createHandlerRunner } from './handler-retry';
import { KafkaMeter } from './metrics';

const event = UserEventFactory.createUserLoggedOut('u-1', 's-1');
const context: EventContext = {
  topic: 'user-events',
  partition: 0,
  offset: '7',
  key: 'u-1',
  headers: {},
  attempt: 0,
};
const message = { key: null, value: null, offset: '7', headers: {} } as unknown as KafkaMessage;

/** Runs `event` through a handler that throws `error` each time; resolves with what happened. */
async function failWith(error: unknown, retries = 3) {
  const deadLettered: Failure[] = [];
  const attempts: number[] = [];
  let heartbeats = 0;
  const run = createHandlerRunner({ retries, retryMs: 1 }, async (failure) => {
    deadLettered.push(failure);
  });
  await run({
    event,
    context,
    groupId: 'g',
    handler: async (_event, ctx) => {
      attempts.push(ctx.attempt);
      throw error;
    },
    message,
    heartbeat: async () => void heartbeats++,
    stopping: new AbortController().signal,
    log: silentLogger,
  });
  return { attempts, deadLettered, heartbeats };
}

describe('a failing handler', () => {
  it('is retried when its error is retriable, then dead-lettered with the attempts made', async () => {
    const { attempts, deadLettered, heartbeats } = await failWith(new Error('database is down'));
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(heartbeats).toBe(3);
    expect(deadLettered).toEqual([
      expect.objectContaining({
        reason: 'handler failed: database is down',
        attempts: 4,
        event,
        groupId: 'g',
      }),
    ]);
  });

  it.each([
    ['a DomainError with a non-retriable code', new InvalidInputError('email', 'is taken')],
    ['a NotFoundError', new NotFoundError('User', 'u-1')],
    ['an invalid event', new EventValidationError([{ path: 'payload.userId', message: 'empty' }])],
    ['an error that says retriable: false', Object.assign(new Error('no'), { retriable: false })],
  ])('is dead-lettered at the first attempt for %s', async (_what, error) => {
    const { attempts, deadLettered, heartbeats } = await failWith(error);
    expect(attempts).toEqual([1]);
    expect(heartbeats).toBe(0);
    expect(deadLettered).toEqual([
      expect.objectContaining({
        reason: `handler failed: ${(error as Error).message}`,
        attempts: 1,
      }),
    ]);
  });

  it('is retried for a DomainError whose code the registry calls retriable', async () => {
    const { attempts } = await failWith(new DomainError('SERVICE_UNAVAILABLE', 'busy'), 1);
    expect(attempts).toEqual([1, 2]);
  });

  it('is retried for a kafkajs error even though kafkajs calls it not retriable', async () => {
    const gaveUp = Object.assign(new Error('Connection error: ECONNREFUSED'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
    });
    const { attempts } = await failWith(gaveUp, 1);
    expect(attempts).toEqual([1, 2]);
  });

  it('is retried for an error that is not an object', async () => {
    const { attempts } = await failWith('a string', 1);
    expect(attempts).toEqual([1, 2]);
  });

  it('is neither retried nor dead-lettered once the subscription stops', async () => {
    const stopping = new AbortController();
    const deadLettered: Failure[] = [];
    const run = createHandlerRunner({ retries: 3, retryMs: 60_000 }, async (failure) => {
      deadLettered.push(failure);
    });
    const failure = new InvalidInputError('x', 'y');
    const running = run({
      event,
      context,
      groupId: 'g',
      handler: async () => {
        stopping.abort();
        throw failure;
      },
      message,
      heartbeat: async () => undefined,
      stopping: stopping.signal,
      log: silentLogger,
    });
    await expect(running).rejects.toBe(failure);
    expect(deadLettered).toEqual([]);
  });
});

describe('the metrics of a handler run', () => {
  /** Runs `event` with a handler that fails `failures` times (with `error`), measured. */
  async function measured(error: unknown, failures: number) {
    const registry = new Registry();
    const meter = new KafkaMeter({
      admin: {} as Admin,
      topicName: (t) => t,
      groupName: (g) => g,
      topics: ['user-events'],
      running: () => false,
    });
    meter.attach(registry);
    let calls = 0;
    await createHandlerRunner(
      { retries: 2, retryMs: 1 },
      async () => undefined,
    )({
      event,
      context,
      groupId: 'g',
      handler: async () => {
        if (calls++ < failures) throw error;
      },
      message,
      heartbeat: async () => undefined,
      stopping: new AbortController().signal,
      log: silentLogger,
      meter: meter.subscription('g', ['user-events']),
    });
    const text = await registry.metrics();
    const value = (sample: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(`${sample} `))
          ?.split(' ')[1] ?? 0,
      );
    const labels = '{topic="user-events",group="g",event_type="user.logged_out"}';
    return {
      attempts: value(`kafka_handler_duration_seconds_count${labels}`),
      failures: value(`kafka_handler_failures_total${labels}`),
      retriesExhausted: value(
        'kafka_messages_dead_lettered_total{topic="user-events",group="g",reason="retries_exhausted"}',
      ),
      nonRetriable: value(
        'kafka_messages_dead_lettered_total{topic="user-events",group="g",reason="non_retriable"}',
      ),
    };
  }

  it('times each attempt and counts each failure', async () => {
    expect(await measured(new Error('flaky'), 1)).toEqual({
      attempts: 2,
      failures: 1,
      retriesExhausted: 0,
      nonRetriable: 0,
    });
  });

  it('counts a dead letter after the last retry as retries_exhausted', async () => {
    expect(await measured(new Error('down'), 10)).toEqual({
      attempts: 3,
      failures: 3,
      retriesExhausted: 1,
      nonRetriable: 0,
    });
  });

  it('counts a dead letter of a non-retriable error as non_retriable', async () => {
    expect(await measured(new NotFoundError('Interview', 'x'), 10)).toEqual({
      attempts: 1,
      failures: 1,
      retriesExhausted: 0,
      nonRetriable: 1,
    });
  });
});
