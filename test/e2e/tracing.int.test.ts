/**
 * One mutation's trace, end to end, captured by an in-memory exporter: the gateway's server span
 * (continuing the caller's `traceparent`), @apollo/gateway's fetch to the interviews subgraph,
 * the subgraph's server span, the Kafka message (its `traceparent` header, written through the
 * outbox), the consumers of every group that handles it (reporting among them), and the
 * resolution of the event for a live subscriber at the gateway: one trace id, each span the
 * child of the one before across the process boundaries.
 */
import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../../lib/tracing';
import { waitFor } from '../helpers';
import { asIdentity, liveClients, record, subscribersAtLeast } from '../live';
import { createInterview, gatewayCaller, startTestPlatform, type TestPlatform } from '../platform';

jest.setTimeout(120_000);

const candidate = { userId: 'trace-candidate', email: 'trace@example.com', roles: [] };

describe('a mutation traced from the gateway to the consumers and the subscription', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  let platform: TestPlatform;
  const clients = liveClients();
  const gql = gatewayCaller(() => platform.gatewayUrl, candidate);

  beforeAll(async () => {
    tracing = await startTracing({ service: 'interview-graph-test', exporter });
    platform = await startTestPlatform();
    await platform.register(candidate);
  });

  afterAll(async () => {
    await clients.disposeAll();
    await platform?.stop();
    await tracing?.stop();
  });

  const spansOf = (traceId: string) =>
    exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it('links gateway, subgraph, Kafka, consumers and the live delivery in one trace', async () => {
    const { id } = await createInterview(gql, {
      title: 'Traced',
      position: 'Engineer',
      questions: ['Why?'],
    });
    const { client } = clients.connect(platform.gatewayUrl, asIdentity(candidate));
    const live = record<{ interviewUpdated: { status: string } }>(
      client,
      { query: `subscription { interviewUpdated(id: "${id}") { status } }` },
      (r) => r.data?.interviewUpdated.status === 'IN_PROGRESS',
    );
    await subscribersAtLeast(platform.gatewayUrl, 1);

    // The caller's own trace: the gateway continues it.
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const res = await fetch(platform.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-identity': JSON.stringify(candidate),
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify({ query: `mutation { startInterview(id: "${id}") { status } }` }),
    });
    expect(await res.json()).toEqual({ data: { startInterview: { status: 'IN_PROGRESS' } } });
    await live.received(1);

    await waitFor('the consumers and the subscription spans of the trace', () => {
      const names = spansOf(traceId).map((s) => s.name);
      return (
        names.includes('subscription interviewUpdated') &&
        spansOf(traceId).some((s) =>
          String(s.attributes['messaging.consumer.group.name']).endsWith(
            '.reporting-service-group',
          ),
        )
      );
    });
    const spans = spansOf(traceId);
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    /** The names of `span`'s ancestors, nearest first, within the trace. */
    const ancestry = (span: ReadableSpan): string[] => {
      const names: string[] = [];
      for (let at = byId.get(parentOf(span) ?? ''); at; at = byId.get(parentOf(at) ?? '')) {
        names.push(at.name);
      }
      return names;
    };

    // The gateway's server span is the caller's child; the subgraph's server span is below the
    // gateway's fetch to it (two `POST /graphql`: gateway, then subgraph).
    const servers = spans.filter((s) => s.name === 'POST /graphql');
    const gatewaySpan = servers.find((s) => parentOf(s) === callerSpanId);
    expect(gatewaySpan).toBeDefined();
    const subgraphSpan = servers.find((s) => s !== gatewaySpan);
    expect(subgraphSpan).toBeDefined();
    expect(ancestry(subgraphSpan!)).toContain('POST /graphql');
    expect(ancestry(subgraphSpan!).some((name) => /fetch/i.test(name))).toBe(true);

    // Every consumer group that handles interview-events, each a child of the subgraph's span
    // (through the message's traceparent): the reporting service's among them.
    const consumers = spans.filter((s) => s.name === 'process interview-events');
    // Groups are named with the platform's topic prefix.
    const groups = consumers.map((s) =>
      String(s.attributes['messaging.consumer.group.name']).slice(platform.topicPrefix.length),
    );
    expect(groups).toEqual(
      expect.arrayContaining(['reporting-service-group', 'user-service-group']),
    );
    for (const consumer of consumers) {
      expect(parentOf(consumer)).toBe(subgraphSpan!.spanContext().spanId);
      expect(consumer.attributes['event.type']).toBe('interview.started');
    }

    // The live delivery at the gateway: the same event, the same trace, below the subgraph's span.
    const delivery = spans.find((s) => s.name === 'subscription interviewUpdated');
    expect(delivery?.attributes['event.type']).toBe('interview.started');
    expect(parentOf(delivery!)).toBe(subgraphSpan!.spanContext().spanId);
    expect(ancestry(delivery!).at(-1)).toBe('POST /graphql');
  });
});
