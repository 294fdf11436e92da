/**
 * The fix to kafkajs's request queue (kafkajs-fixes.ts), on kafkajs's own class: a queue with
 * nothing pending schedules nothing, and one with pending requests still checks them.
 */
import { createRequire } from 'node:module';
import { RequestQueue, SEND_MESSAGES_FILE, type RequestQueueInternals } from './kafkajs-fixes';

const quiet = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function queue(): RequestQueueInternals & { destroy(): void } {
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9092',
    logger: quiet,
  }) as RequestQueueInternals & { destroy(): void };
}

/** Counts the queue's checks; `before` runs ahead of each. */
function countChecks(q: RequestQueueInternals, before: () => void = () => undefined) {
  const counted = { count: 0 };
  const check = q.checkPendingRequests.bind(q);
  q.checkPendingRequests = () => {
    counted.count++;
    before();
    check();
  };
  return counted;
}

describe('kafkajs RequestQueue, fixed', () => {
  const open: { destroy(): void }[] = [];
  afterEach(() => {
    for (const q of open.splice(0)) q.destroy();
  });

  it('schedules no check when nothing is pending and nothing throttles (no 1 ms loop)', () => {
    const q = queue();
    open.push(q);
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    // kafkajs runs a check after every response; it must not re-arm itself either.
    q.checkPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks pending requests again after the 10 ms interval, once the throttle is over', async () => {
    const q = queue();
    open.push(q);
    // As if the pending request went out at the check.
    const checks = countChecks(q, () => (q.pending.length = 0));
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(checks.count).toBe(1);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks when a client-side throttle ends, even with nothing pending yet', async () => {
    const q = queue();
    open.push(q);
    const checks = countChecks(q);
    q.throttledUntil = Date.now() + 20;
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 80));
    // Once, or twice when the timer fired a moment before `Date.now()` reached the end of the
    // throttle (timers run on another clock) and re-armed for the rest; a loop would be dozens.
    expect(checks.count).toBeGreaterThanOrEqual(1);
    expect(checks.count).toBeLessThanOrEqual(2);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });
});

/**
 * The producer's send (kafkajs's `sendMessages`, patched at install) against a cluster of two
 * fake brokers whose metadata moves a partition between attempts, as a leader election does.
 */
describe("kafkajs's send, retried after a broker failure", () => {
  type Message = { key: string; value: string };
  const kafkajsFile = createRequire(SEND_MESSAGES_FILE);
  const createSendMessages = kafkajsFile(SEND_MESSAGES_FILE) as (
    options: unknown,
  ) => (request: {
    acks: number;
    timeout?: number;
    compression?: number;
    topicMessages: { topic: string; messages: Message[] }[];
  }) => Promise<{ topicName: string; partition: number }[]>;
  const createRetry = kafkajsFile('../retry') as (options: Record<string, unknown>) => unknown;

  it('sends the partitions of a failed broker to their new leader, even one that answered already', async () => {
    // Partition 0 on broker 1, partition 1 on broker 2, until broker 2 dies and 1 takes over.
    const leaders: Record<number, number> = { 0: 1, 1: 2 };
    const received: { broker: number; partition: number; keys: string[] }[] = [];
    const broker = (nodeId: number) => ({
      nodeId,
      async produce({
        topicData,
      }: {
        topicData: { topic: string; partitions: { partition: number; messages: Message[] }[] }[];
      }) {
        if (nodeId === 2 && leaders[1] === 2) {
          leaders[1] = 1;
          const error = new Error('Connection error: connect ECONNREFUSED');
          error.name = 'KafkaJSConnectionError';
          throw error;
        }
        for (const { partitions } of topicData) {
          for (const { partition, messages } of partitions) {
            received.push({
              broker: nodeId,
              partition: Number(partition),
              keys: messages.map((m) => m.key),
            });
          }
        }
        return {
          topics: topicData.map(({ topic, partitions }) => ({
            topicName: topic,
            partitions: partitions.map(({ partition }) => ({
              partition: Number(partition),
              errorCode: 0,
              baseOffset: '0',
            })),
          })),
        };
      },
    });
    const brokers: Record<number, ReturnType<typeof broker>> = { 1: broker(1), 2: broker(2) };
    const cluster = {
      targetTopics: new Set<string>(),
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      addMultipleTargetTopics: async () => undefined,
      isConnected: () => true,
      removeBroker: () => undefined,
      findTopicPartitionMetadata: () =>
        [0, 1].map((partitionId) => ({ partitionId, leader: leaders[partitionId] })),
      findLeaderForPartitions: (_topic: string, partitions: string[]) => {
        const perLeader: Record<string, string[]> = {};
        for (const partition of partitions)
          (perLeader[leaders[Number(partition)]!] ??= []).push(partition);
        return perLeader;
      },
      findBroker: async ({ nodeId }: { nodeId: string }) => brokers[Number(nodeId)],
    };
    const eosManager = {
      acquireBrokerLock: async () => undefined,
      releaseBrokerLock: async () => undefined,
      isTransactional: () => false,
      getSequence: () => 0,
      updateSequence: () => undefined,
      getProducerId: () => -1,
      getProducerEpoch: () => 0,
    };
    const send = createSendMessages({
      logger: quiet,
      cluster,
      eosManager,
      partitioner: ({ message }: { message: Message }) => Number(message.key) % 2,
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 5 }),
    });

    const messages = ['0', '1', '2', '3'].map((key) => ({ key, value: `v${key}` }));
    const responses = await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });

    // Broker 1 answered for partition 0 first; partition 1 then went to it, not nowhere.
    expect(received).toEqual([
      { broker: 1, partition: 0, keys: ['0', '2'] },
      { broker: 1, partition: 1, keys: ['1', '3'] },
    ]);
    expect(responses.map((r) => r.partition).sort()).toEqual([0, 1]);
  });
});
