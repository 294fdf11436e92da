import type { Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import type { Topic } from '../topics';
import {
  KafkaMeter,
  nextConsumerState,
  partitionLag,
  reportedConsumerState,
  SESSION_TIMEOUT_MS,
  type ConsumerEvent,
  type ConsumerState,
} from './metrics';

describe('partitionLag', () => {
  const watermarks = [
    { partition: 0, low: 0, high: 10 },
    { partition: 1, low: 5, high: 7 },
    { partition: 2, low: 0, high: 0 },
  ];

  it('is the high watermark minus the committed offset', () => {
    expect(
      partitionLag(
        [
          { partition: 0, offset: '4' },
          { partition: 1, offset: '7' },
          { partition: 2, offset: '0' },
        ],
        watermarks,
      ),
    ).toEqual([
      { partition: 0, lag: 6 },
      { partition: 1, lag: 0 },
      { partition: 2, lag: 0 },
    ]);
  });

  it('counts from the earliest offset where the group never committed (-1 or absent)', () => {
    expect(partitionLag([{ partition: 0, offset: '-1' }], watermarks)).toEqual([
      { partition: 0, lag: 10 },
      { partition: 1, lag: 2 },
      { partition: 2, lag: 0 },
    ]);
  });

  it('is never negative (a commit read after a newer watermark)', () => {
    expect(partitionLag([{ partition: 1, offset: '9' }], [watermarks[1]!])).toEqual([
      { partition: 1, lag: 0 },
    ]);
  });
});

describe('consumer states', () => {
  const run = (events: ConsumerEvent[], from: ConsumerState = 'connecting') =>
    events.reduce(nextConsumerState, from);

  it('goes connecting, connected, rebalancing, connected, stopped', () => {
    expect(run([])).toBe('connecting');
    expect(run(['join'])).toBe('connected');
    expect(run(['join', 'rebalance'])).toBe('rebalancing');
    expect(run(['join', 'rebalance', 'join'])).toBe('connected');
    expect(run(['join', 'stop'])).toBe('stopped');
  });

  it('is stalled after a crash until the group is joined again', () => {
    expect(run(['join', 'crash'])).toBe('stalled');
    expect(run(['join', 'crash', 'rebalance'])).toBe('stalled');
    expect(run(['join', 'crash', 'join'])).toBe('connected');
  });

  it('stays stopped', () => {
    expect(run(['stop', 'join', 'crash', 'rebalance'])).toBe('stopped');
    expect(run(['stop', 'connect'])).toBe('connecting');
  });

  it('reports a member silent longer than the session timeout as stalled', () => {
    const now = 100_000;
    expect(reportedConsumerState('connected', now - 1_000, now)).toBe('connected');
    expect(reportedConsumerState('connected', now - SESSION_TIMEOUT_MS - 1, now)).toBe('stalled');
    expect(reportedConsumerState('rebalancing', now - SESSION_TIMEOUT_MS - 1, now)).toBe('stalled');
    expect(reportedConsumerState('stopped', 0, now)).toBe('stopped');
  });
});

/** A fake admin client (the meter takes it as an argument): offsets it is told to answer. */
function fakeAdmin() {
  const state = {
    committed: [{ partition: 0, offset: '3' }],
    high: 5,
    fail: false,
    calls: 0,
  };
  const admin = {
    fetchOffsets: async ({ topics }: { groupId: string; topics: string[] }) => {
      state.calls++;
      if (state.fail) throw new Error('broker away');
      return topics.map((topic) => ({ topic, partitions: state.committed }));
    },
    fetchTopicOffsets: async () => [
      { partition: 0, offset: String(state.high), low: '0', high: String(state.high) },
    ],
  } as unknown as Admin;
  return { admin, state };
}

const meterOn = (admin: Admin, prefix = 'p.') =>
  new KafkaMeter({
    admin,
    topicName: (t) => `${prefix}${t}`,
    groupName: (g) => `${prefix}${g}`,
    topics: ['user-events', 'interview-events', 'system-events'] as Topic[],
    running: () => true,
  });

const value = async (registry: Registry, name: string, labels: Record<string, string>) => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const found = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return found?.value;
};

describe('KafkaMeter', () => {
  it('registers the figures once per registry, however many meters attach', async () => {
    const registry = new Registry();
    const one = meterOn(fakeAdmin().admin);
    const two = meterOn(fakeAdmin().admin);
    expect(one.attach(registry)).toBe(true);
    expect(two.attach(registry)).toBe(true);
    expect(one.attach(registry)).toBe(true);
    expect(one.attach(new Registry())).toBe(false);
    one.producedTo('p.interview-events', 2);
    two.producedTo('p.interview-events', 3);
    one.producedTo('p.interview-events.dlq', 1);
    one.producedTo('elsewhere', 1);
    expect(
      await value(registry, 'kafka_messages_produced_total', { topic: 'interview-events' }),
    ).toBe(5);
    expect(
      await value(registry, 'kafka_messages_produced_total', { topic: 'interview-events.dlq' }),
    ).toBe(1);
  });

  it('counts per subscription with logical topics and groups', async () => {
    const registry = new Registry();
    const meter = meterOn(fakeAdmin().admin);
    meter.attach(registry);
    const s = meter.subscription('g', ['user-events']);
    s.consumed('user-events', 3);
    s.handled('user-events', 'user.registered', 0.002);
    s.handled('user-events', 'user.registered', 0.5, true);
    s.deadLettered('user-events', 'retries_exhausted');
    s.assigned(new Map([['user-events', 2]]));
    s.transition('join');
    const json = await registry.getMetricsAsJSON();
    const histogram = json.find((m) => m.name === 'kafka_handler_duration_seconds');
    const count = histogram?.values.find(
      (v) => (v as { metricName?: string }).metricName === 'kafka_handler_duration_seconds_count',
    );
    expect(count?.value).toBe(2);
    expect(count?.labels).toEqual({
      topic: 'user-events',
      group: 'g',
      event_type: 'user.registered',
    });
    expect(await value(registry, 'kafka_messages_consumed_total', { group: 'g' })).toBe(3);
    expect(await value(registry, 'kafka_handler_failures_total', { group: 'g' })).toBe(1);
    expect(
      await value(registry, 'kafka_messages_dead_lettered_total', { reason: 'retries_exhausted' }),
    ).toBe(1);
    expect(await value(registry, 'kafka_consumer_assigned_partitions', { group: 'g' })).toBe(2);
    expect(await value(registry, 'kafka_consumer_state', { group: 'g', state: 'connected' })).toBe(
      1,
    );
    expect(await value(registry, 'kafka_consumer_state', { group: 'g', state: 'stopped' })).toBe(0);
    s.transition('stop');
    expect(await value(registry, 'kafka_consumer_state', { group: 'g', state: 'stopped' })).toBe(1);
    expect(await value(registry, 'kafka_consumer_assigned_partitions', { group: 'g' })).toBe(0);
  });

  it('reads lag at scrape time, cached, and keeps the last values when a read fails', async () => {
    const registry = new Registry();
    const { admin, state } = fakeAdmin();
    const meter = meterOn(admin);
    meter.attach(registry);
    meter.subscription('g', ['user-events']);
    const lag = () =>
      value(registry, 'kafka_consumer_lag', { topic: 'user-events', group: 'g', partition: '0' });
    expect(await lag()).toBe(2);
    state.high = 9;
    expect(await lag()).toBe(2); // cached
    expect(state.calls).toBe(1);
    jest.useFakeTimers({ now: Date.now() + 5_000, doNotFake: ['nextTick', 'setImmediate'] });
    try {
      state.fail = true;
      expect(await lag()).toBe(2); // the last value, and an error counted
      expect(await value(registry, 'kafka_metrics_errors_total', {})).toBe(1);
      state.fail = false;
      expect(await lag()).toBe(2); // failures are cached too
      jest.setSystemTime(Date.now() + 5_000);
      expect(await lag()).toBe(6);
    } finally {
      jest.useRealTimers();
    }
  });
});
