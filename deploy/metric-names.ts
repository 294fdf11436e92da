/**
 * The Prometheus metrics the monitoring stack of docker-compose.yml reads
 * (deploy/grafana/dashboards/*.json), as the processes' `/metrics` serve them: the one list the
 * code that registers them and the dashboard agree on. deploy/docker-compose.test.ts refuses a
 * dashboard query naming a metric that is not here; register a new metric, then add it here,
 * then query it.
 *
 * A histogram is listed under its own name; Prometheus serves it as `<name>_bucket`, `_sum` and
 * `_count`, which queries may use.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricName {
  name: string;
  type: MetricType;
  /**
   * Its labels: the dashboard groups and filters only by these, Prometheus's `job` and
   * `instance`, and a histogram's `le`.
   */
  labels: readonly string[];
}

const metric = (name: string, type: MetricType, ...labels: string[]): MetricName => ({
  name,
  type,
  labels,
});

/** Kafka producers and consumers of every process (events/kafka). */
export const KAFKA_METRICS: readonly MetricName[] = [
  metric('kafka_messages_produced_total', 'counter', 'topic'),
  metric('kafka_messages_consumed_total', 'counter', 'topic', 'group'),
  metric('kafka_consumer_lag', 'gauge', 'group', 'topic', 'partition'),
  metric('kafka_consumer_assigned_partitions', 'gauge', 'topic', 'group'),
  metric('kafka_messages_dead_lettered_total', 'counter', 'topic', 'group', 'reason'),
  metric('kafka_handler_duration_seconds', 'histogram', 'topic', 'group', 'event_type'),
  metric('kafka_handler_failures_total', 'counter', 'topic', 'group', 'event_type'),
  metric('kafka_consumer_state', 'gauge', 'group', 'state'),
];

/** The gateway's GraphQL, subgraph requests and live subscriptions (gateway/). */
export const GATEWAY_METRICS: readonly MetricName[] = [
  metric('gateway_graphql_requests_total', 'counter', 'operation_type', 'outcome'),
  metric('gateway_graphql_request_duration_seconds', 'histogram', 'operation_type'),
  metric('gateway_subgraph_request_duration_seconds', 'histogram', 'subgraph'),
  metric('gateway_subscriptions', 'gauge'),
  metric('gateway_subscription_results_queued', 'gauge'),
  metric('gateway_subscription_results_dropped_total', 'counter'),
];

/**
 * The prefix of each process's standard Node.js metrics (lib/metrics.ts `createMetricsRegistry`):
 * `gateway` (gateway/gateway.ts), `subgraph` (every subgraph, subgraphs/shared/subgraph.ts;
 * Prometheus's `job` tells them apart) and `notification` (notifications/service.ts).
 */
export const PROCESS_METRIC_PREFIXES = ['gateway', 'subgraph', 'notification'] as const;

/** Of prom-client's default metrics, those the dashboard reads, per prefix. */
export const PROCESS_METRICS: readonly MetricName[] = PROCESS_METRIC_PREFIXES.flatMap((prefix) => [
  metric(`${prefix}_process_resident_memory_bytes`, 'gauge'),
  metric(`${prefix}_process_cpu_seconds_total`, 'counter'),
]);

/** Every metric a dashboard may query. */
export const METRIC_NAMES: readonly MetricName[] = [
  ...KAFKA_METRICS,
  ...GATEWAY_METRICS,
  ...PROCESS_METRICS,
];

/**
 * The entry `series` (a name as a query writes it) belongs to: itself, or the histogram it is
 * the `_bucket`, `_sum` or `_count` of; `undefined` when it is none of {@link METRIC_NAMES}.
 */
export function metricOfSeries(
  series: string,
  names: readonly MetricName[] = METRIC_NAMES,
): MetricName | undefined {
  const exact = names.find((m) => m.name === series);
  if (exact) return exact;
  const base = /^(.*)_(bucket|sum|count)$/.exec(series)?.[1];
  return names.find((m) => m.name === base && m.type === 'histogram');
}
