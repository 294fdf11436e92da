/**
 * Prometheus metrics of a process (`prom-client`): one registry per process, with Node.js's
 * standard process metrics (memory, CPU, event loop lag, GC) under the process's prefix
 * (`gateway_process_resident_memory_bytes`, `users_nodejs_eventloop_lag_seconds`, ...), and the
 * `GET /metrics` route that serves it in the text format, HELP and TYPE lines included.
 *
 * Figures that live elsewhere (a queue's length, rows in a table) are gauges with a `collect`
 * callback: read when scraped, so the hot path pays nothing.
 *
 * A process's `KafkaService` adds the `kafka_*` figures to the same registry (its `metrics`
 * option; events/kafka/metrics.ts).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Route } from './http-server';

/** A registry with the standard process metrics, named `<prefix>_...`. */
export function createMetricsRegistry(prefix: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  return registry;
}

/** `GET /metrics`: `registry` in Prometheus's text format. */
export function metricsRoute(registry: Registry): Route {
  return async (_req, res) => {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  };
}
