/**
 * Traces with OpenTelemetry: one trace per request, carried across processes in W3C
 * `traceparent` headers (HTTP requests to the subgraphs, Kafka messages), so that a mutation's
 * trace runs gateway → subgraph → outbox → Kafka → every consumer → the subscription delivery.
 *
 * Off unless a process calls {@link startTracing} with an exporter: with `OTEL_EXPORTER_OTLP_ENDPOINT`
 * set, its `main.ts` does (spans batched to `<endpoint>/v1/traces` over OTLP/HTTP); tests pass an
 * in-memory exporter. Off, every helper here runs on OpenTelemetry's no-op API: no span is
 * recorded, no header is written, and the cost is a few function calls.
 *
 * Span names follow OpenTelemetry's conventions: `POST /graphql` (server), `process
 * interview-events` (a consumer handling a message), `send interview-events` (publishing),
 * `subscription interviewUpdated` (one event resolved for a live subscription).
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

export { SpanKind } from '@opentelemetry/api';

/** The header of W3C Trace Context. */
export const TRACEPARENT_HEADER = 'traceparent';

/** What {@link startTracing} exports to. */
export interface TracingOptions {
  /** `service.name` of the spans, e.g. `api-gateway`. */
  service: string;
  /** OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`. */
  endpoint?: string | undefined;
  /** Exports each span as it ends (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter;
}

/** Tracing started by {@link startTracing}: `stop` flushes and turns it off again. */
export interface Tracing {
  stop(): Promise<void>;
}

/**
 * Records spans for this process (the global tracer provider, context manager and W3C
 * propagator) when an endpoint or an exporter is given; `undefined` (tracing stays off)
 * otherwise. The SDK is loaded only then: a process that does not trace keeps none of it in
 * memory (the API alone is loaded, by @apollo/gateway too).
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  if (!options.exporter && !options.endpoint) return undefined;
  const [{ W3CTraceContextPropagator }, { resourceFromAttributes }, base, { NodeTracerProvider }] =
    await Promise.all([
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/sdk-trace-node'),
    ]);
  let processor;
  if (options.exporter) {
    processor = new base.SimpleSpanProcessor(options.exporter);
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const url = `${(options.endpoint ?? '').replace(/\/$/, '')}/v1/traces`;
    processor = new base.BatchSpanProcessor(new OTLPTraceExporter({ url }));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.service }),
    spanProcessors: [processor],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    async stop() {
      await provider.shutdown();
      // Off again, so that a later start in this process (tests) registers afresh.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

const tracer = () => trace.getTracer('interview-graph');

/** Writes the trace context of `ctx` (the active one by default) into `carrier`'s headers. */
export function injectTraceContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The `traceparent` of the active span, if a span is recording. */
export function activeTraceparent(): string | undefined {
  return injectTraceContext({})[TRACEPARENT_HEADER];
}

/** The context a `traceparent` (in `headers`, or given alone) continues; the root one without. */
export function extractTraceContext(
  headers: Readonly<Record<string, string | string[] | undefined>> | string | null | undefined,
): Context {
  if (!headers) return ROOT_CONTEXT;
  const carrier = typeof headers === 'string' ? { [TRACEPARENT_HEADER]: headers } : headers;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** What {@link inSpan} starts. */
export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent: e.g. {@link extractTraceContext} of a message. @default the active context */
  parent?: Context;
}

/**
 * Runs `run` inside a new span (active for everything it calls), ended when it settles; a
 * rejection is recorded on the span (status ERROR) and passed on.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  run: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
    async (span) => {
      try {
        return await run(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
