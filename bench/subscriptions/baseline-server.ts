/**
 * The two baselines of `bench:subscriptions`, each in a process of its own so its CPU is its own:
 *
 *   node --import tsx bench/subscriptions/baseline-server.ts --kind bare-ws
 *   node --import tsx bench/subscriptions/baseline-server.ts --kind graphql-ws --brokers HOST:PORT
 *     --topic PHYSICAL_TOPIC --group-prefix PREFIX
 *
 * `bare-ws`: what the machine can do. A `ws` server that speaks just enough
 * `graphql-transport-ws` for the bench's subscriber processes (ack, accept one `subscribe`,
 * answer pings) and, on `broadcast`, sends one pre-built `next` message per tick to every
 * subscribed socket, at the parent's schedule. Each message carries the event id the subscribers
 * read a sequence number from (protocol.ts `eventId`) and its send time (`sentAt`); the send
 * times also go back to the parent, so latency is taken exactly as for the gateway: arrival at a
 * subscriber minus the time just before the message was handed to the sockets.
 *
 * `graphql-ws`: what a user would pick instead of our gateway. graphql-ws `useServer` on `ws`,
 * a non-federated schema with one subscription field, `interviewEvents(interviewId)`, returning
 * the event's own fields, fed by `graphql-kafkajs-subscriptions` (KafkaPubSub) on the very
 * topic our gateway reads. KafkaPubSub routes a message by its `channel` header and, without
 * one, by the topic's name; our events carry no `channel` header (KafkaService sets `event-id`,
 * `event-type`, ...), so the field subscribes to the channel named like the physical topic and
 * the gateway and this server read the same messages. Filtering by interview is graphql-
 * subscriptions' `withFilter`, as its README shows; the envelope is parsed once per message
 * (memoized), not once per subscriber, which favours the baseline.
 *
 * Both report `{ type: 'listening', url }`, answer `stats` (CPU time of this process, RSS,
 * subscriptions), and exit when the parent's channel closes.
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import {
  GraphQLID,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';
import { KafkaPubSub } from 'graphql-kafkajs-subscriptions';
import { withFilter } from 'graphql-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import WebSocket, { WebSocketServer } from 'ws';
import { wallClock } from '../lib/clock';
import { ownUsage } from '../lib/usage';
import type { BaselineFromParent, BaselineToParent } from './protocol';

function send(message: BaselineToParent): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

async function listen(wss: WebSocketServer): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const { port } = wss.address() as AddressInfo;
  return `http://127.0.0.1:${port}/graphql`;
}

// ---------------------------------------------------------------------------------------------
// bare-ws

interface Bare {
  wss: WebSocketServer;
  subscribed: Set<WebSocket>;
}

function startBare(): Bare {
  const subscribed = new Set<WebSocket>();
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/graphql',
    perMessageDeflate: false,
    handleProtocols: (protocols) =>
      protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false,
  });
  wss.on('connection', (ws) => {
    ws.on('message', (raw) => {
      let message: { type?: string };
      try {
        message = JSON.parse(raw.toString()) as { type?: string };
      } catch {
        ws.close(4400, 'not JSON');
        return;
      }
      if (message.type === 'connection_init') ws.send('{"type":"connection_ack"}');
      else if (message.type === 'subscribe') subscribed.add(ws);
      else if (message.type === 'ping') ws.send('{"type":"pong"}');
    });
    ws.on('close', () => subscribed.delete(ws));
  });
  return { wss, subscribed };
}

/**
 * Sends event `seq` of `total` at `first + seq * interval` (wall clock, ms), one message built
 * once per tick for every socket; returns the send times.
 */
async function broadcast(
  bare: Bare,
  request: Extract<BaselineFromParent, { type: 'broadcast' }>,
): Promise<Float64Array> {
  const sendTimes = new Float64Array(request.total);
  for (let seq = 0; seq < request.total; seq++) {
    const wait = request.first + seq * request.interval - wallClock();
    // Behind schedule, it still yields each event, so the parent's `stats` requests are answered.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    else await new Promise((resolve) => setImmediate(resolve));
    const sentAt = wallClock();
    sendTimes[seq] = sentAt;
    const frame = Buffer.from(
      `{"id":"1","type":"next","payload":{"data":{"interviewEvents":{"eventId":"${request.eventIds[seq] ?? ''}","sentAt":${sentAt}}}}}`,
    );
    for (const ws of bare.subscribed) {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: false, compress: false });
    }
  }
  return sendTimes;
}

// ---------------------------------------------------------------------------------------------
// graphql-ws + graphql-kafkajs-subscriptions

/** The event as the baseline's schema returns it: envelope fields and the payload's. */
interface EventFields {
  eventId: string;
  eventType: string;
  timestamp: string;
  interviewId: string;
  questionId?: string;
  answerId?: string;
  wordCount?: number;
  answeredQuestions?: number;
  totalQuestions?: number;
}

const decoded = new WeakMap<KafkaMessage, EventFields | null>();

/** The envelope in a Kafka message, parsed once per message; null when it is not one. */
function decode(message: KafkaMessage): EventFields | null {
  const known = decoded.get(message);
  if (known !== undefined) return known;
  let fields: EventFields | null = null;
  try {
    const envelope = JSON.parse(message.value?.toString('utf8') ?? 'null') as {
      eventId?: unknown;
      eventType?: unknown;
      timestamp?: unknown;
      payload?: Record<string, unknown>;
    } | null;
    const payload = envelope?.payload;
    if (
      typeof envelope?.eventId === 'string' &&
      typeof envelope.eventType === 'string' &&
      typeof envelope.timestamp === 'string' &&
      payload !== undefined &&
      typeof payload.interviewId === 'string'
    ) {
      fields = {
        ...(payload as Partial<EventFields>),
        eventId: envelope.eventId,
        eventType: envelope.eventType,
        timestamp: envelope.timestamp,
        interviewId: payload.interviewId,
      };
    }
  } catch {
    fields = null;
  }
  decoded.set(message, fields);
  return fields;
}

function baselineSchema(pubsub: KafkaPubSub, channel: string): GraphQLSchema {
  const id = { type: new GraphQLNonNull(GraphQLID) };
  const InterviewEventFields = new GraphQLObjectType({
    name: 'InterviewEventFields',
    fields: {
      eventId: id,
      eventType: { type: new GraphQLNonNull(GraphQLString) },
      timestamp: { type: new GraphQLNonNull(GraphQLString) },
      interviewId: id,
      questionId: { type: GraphQLID },
      answerId: { type: GraphQLID },
      wordCount: { type: GraphQLInt },
      answeredQuestions: { type: GraphQLInt },
      totalQuestions: { type: GraphQLInt },
    },
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: { ok: { type: GraphQLString, resolve: () => 'ok' } },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        interviewEvents: {
          type: new GraphQLNonNull(InterviewEventFields),
          args: { interviewId: id },
          subscribe: withFilter(
            () => pubsub.asyncIterator<KafkaMessage>(channel),
            (message: KafkaMessage, args: { interviewId: string }) =>
              decode(message)?.interviewId === args.interviewId,
          ),
          resolve: (message: KafkaMessage) => decode(message),
        },
      },
    }),
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kind: { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
      'group-prefix': { type: 'string' },
    },
  });
  const kind = values.kind;
  let subscriptions: () => number;
  let wss: WebSocketServer;
  let bare: Bare | undefined;
  let pubsub: KafkaPubSub | undefined;
  if (kind === 'bare-ws') {
    bare = startBare();
    wss = bare.wss;
    const { subscribed } = bare;
    subscriptions = () => subscribed.size;
  } else if (kind === 'graphql-ws') {
    const brokers = values.brokers?.split(',').filter(Boolean) ?? [];
    const topic = values.topic;
    const groupPrefix = values['group-prefix'];
    if (brokers.length === 0 || topic === undefined || groupPrefix === undefined) {
      throw new Error('--kind graphql-ws needs --brokers, --topic and --group-prefix');
    }
    const kafka = new Kafka({
      clientId: `${groupPrefix}-client`,
      brokers,
      logLevel: logLevel.ERROR,
    });
    pubsub = await KafkaPubSub.create({ kafka, topic, groupIdPrefix: groupPrefix });
    // create() resolves once kafkajs has joined the group (consumer.run awaits the join); the
    // bench's warm-up events cover the first fetch, which starts at the latest offset.
    wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: '/graphql',
      perMessageDeflate: false,
    });
    let active = 0;
    useServer(
      {
        schema: baselineSchema(pubsub, topic),
        // Started minus completed (graphql-ws completes a socket's subscriptions as it closes).
        onSubscribe: () => {
          active++;
        },
        onComplete: () => {
          active--;
        },
      },
      wss,
    );
    subscriptions = () => active;
  } else {
    throw new Error(`--kind must be bare-ws or graphql-ws (got ${kind ?? 'nothing'})`);
  }
  const url = await listen(wss);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    // KafkaPubSub has no close of its own; its kafkajs clients are private. Leaving the group
    // cleanly lets the parent delete it at once (a dead member keeps it non-empty for the
    // session timeout).
    const clients = pubsub as unknown as
      | { consumer?: { disconnect(): Promise<void> }; producer?: { disconnect(): Promise<void> } }
      | undefined;
    void Promise.allSettled([
      clients?.consumer?.disconnect(),
      clients?.producer?.disconnect(),
    ]).then(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.on('message', (message: BaselineFromParent) => {
    switch (message.type) {
      case 'stats':
        void send({
          type: 'stats',
          ...ownUsage(),
          subscriptions: subscriptions(),
          connections: wss.clients.size,
        });
        return;
      case 'broadcast':
        if (bare === undefined) {
          void send({ type: 'error', message: 'broadcast is for --kind bare-ws only' });
          return;
        }
        void broadcast(bare, message).then((sendTimes) => send({ type: 'broadcasted', sendTimes }));
        return;
    }
  });
  await send({ type: 'listening', url });
}

main().catch((error: unknown) => {
  const message = `baseline-server failed: ${error instanceof Error ? error.message : String(error)}`;
  console.error(message);
  void send({ type: 'error', message }).then(() => process.exit(1));
});
