import { KafkaConfigurationError, topicReplication } from './kafka-service';

/** The replication of a cluster of `brokers` when both settings are left to the platform. */
const auto = (brokers: number) => topicReplication(brokers, 'auto', 'auto');

describe('the replication of the topics the platform creates', () => {
  it('keeps three copies, two in sync, on a cluster of three or more brokers', () => {
    expect(auto(3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(auto(5)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
  });

  it('keeps one copy per broker on a smaller cluster, and needs only one in sync', () => {
    expect(auto(1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(auto(2)).toEqual({ replicationFactor: 2, minInsyncReplicas: 1 });
  });

  it('takes numbers as given when the cluster can hold them', () => {
    expect(topicReplication(5, 5, 3)).toEqual({ replicationFactor: 5, minInsyncReplicas: 3 });
    expect(topicReplication(3, 'auto', 3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 3 });
  });

  it('refuses settings no write could satisfy, saying which and why', () => {
    expect(() => topicReplication(1, 3, 'auto')).toThrow(KafkaConfigurationError);
    expect(() => topicReplication(1, 3, 'auto')).toThrow(
      'KAFKA_REPLICATION_FACTOR 3 needs at least 3 brokers, but the cluster has 1',
    );
    expect(() => topicReplication(3, 'auto', 4)).toThrow(
      /KAFKA_MIN_INSYNC_REPLICAS 4 is more than the 3 replicas/,
    );
  });
});
