import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  activeTraceparent,
  extractTraceContext,
  inSpan,
  injectTraceContext,
  SpanKind,
  startTracing,
} from './tracing';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing', () => {
  it('is off without an exporter or endpoint: no span recorded, no header written', async () => {
    expect(await startTracing({ service: 'test' })).toBeUndefined();
    await inSpan('work', {}, async () => {
      expect(activeTraceparent()).toBeUndefined();
      expect(injectTraceContext({})).toEqual({});
    });
  });

  it('records spans that continue a traceparent, and marks a failure', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = await startTracing({ service: 'test', exporter });
    try {
      let inside: string | undefined;
      await inSpan(
        'process interview-events',
        { kind: SpanKind.CONSUMER, parent: extractTraceContext({ traceparent: PARENT }) },
        async () => {
          inside = activeTraceparent();
        },
      );
      await expect(
        inSpan('broken', { parent: extractTraceContext(PARENT) }, async () => {
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      const [done, broken] = exporter.getFinishedSpans();
      expect(done?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(done?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
      expect(done?.kind).toBe(SpanKind.CONSUMER);
      // Inside the span, the traceparent handed on names the span itself.
      expect(inside).toBe(`00-0af7651916cd43dd8448eb211c80319c-${done?.spanContext().spanId}-01`);
      expect(broken?.status.code).toBe(SpanStatusCode.ERROR);
      expect(broken?.events.map((e) => e.name)).toEqual(['exception']);
    } finally {
      await tracing?.stop();
    }
    // Off again once stopped.
    await inSpan('after', {}, async () => expect(activeTraceparent()).toBeUndefined());
  });
});
