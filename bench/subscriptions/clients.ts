/**
 * Subscribers of `bench:subscriptions`, in a process of their own (the parent starts several):
 *
 *   node --import tsx bench/subscriptions/clients.ts    (IPC channel, `advanced` serialization)
 *
 * On `open`, one subscriber per identity, over the request's `transport`:
 *   - `ws` (the default): a WebSocket speaking `graphql-transport-ws` by hand (no graphql-ws
 *     client, whose per-message work would cost the receiving side more CPU than the gateway's
 *     sending): `connection_init` with the development `x-identity`, then on `connection_ack`
 *     one `subscribe` (id `1`). Pings are answered (`ws` answers WebSocket pings itself).
 *   - `sse`, `multipart`: one `POST` with the `x-identity` header on a connection of its own,
 *     from a loopback address of its own (http-client.ts); subscribed once the response starts.
 * Each result is timestamped on arrival and read without JSON.parse: the event's sequence
 * number from `extensions.eventId` (see protocol.ts `eventId`), its `data` compared byte for
 * byte with the expected JSON, `extensions.dropped` if the gateway dropped results (or, with
 * `timing: 'timestamp'`, the latency from the result's own `timestamp` field, for events the
 * parent did not publish itself: bench/pipeline.ts).
 * On `collect`, the latencies against the parent's publish times; on `close`, every subscriber
 * closed. The process exits when the parent's channel closes.
 */
import WebSocket, { type RawData } from 'ws';
import type { Identity } from '../../contracts/identity';
import { wallClock } from '../lib/clock';
import { subscribeOverHttp, type HttpTransport } from './http-client';
import type { Collected, FromClients, OpenRequest, ToClients } from './protocol';

/** One subscriber, whatever its transport. */
interface Connection {
  /** Highest event sequence number received. */
  lastSeq: number;
  /** Closes it; resolves once its connection closed (or was cut after 5 s). */
  close(): Promise<void>;
  /** Cuts its connection now. */
  terminate(): void;
}

const connections: Connection[] = [];
let closing = false;

// Every `next` received: event sequence number and arrival time, in growing typed arrays.
let seqs = new Int32Array(1 << 16);
let times = new Float64Array(1 << 16);
let received = 0;

const problems = { mismatches: 0, dropped: 0, outOfOrder: 0, unknown: 0, closed: 0, ended: 0 };
let firstProblem: string | undefined;

let nextPrefix = Buffer.alloc(0);
let expectedHead: Buffer | undefined;
let eventTag = '';
let timedBy: 'seq' | 'timestamp' = 'seq';
const EVENT_ID = Buffer.from('"eventId":"');
const DROPPED = Buffer.from('"dropped":');
const ERRORS = Buffer.from('"errors":');
const TIMESTAMP = Buffer.from('"timestamp":"');

function send(message: FromClients): void {
  if (process.send && process.connected) process.send(message, undefined, {}, () => undefined);
}

function problem(description: string): void {
  firstProblem ??= description.slice(0, 500);
}

function record(seq: number, at: number): void {
  if (received === seqs.length) {
    const grownSeqs = new Int32Array(seqs.length * 2);
    grownSeqs.set(seqs);
    seqs = grownSeqs;
    const grownTimes = new Float64Array(times.length * 2);
    grownTimes.set(times);
    times = grownTimes;
  }
  seqs[received] = seq;
  times[received] = at;
  received++;
}

function asBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}

/** A result, its JSON from `payloadAt` to the end of `data`: the hot path, no JSON.parse. */
function onNext(connection: Connection, data: Buffer, payloadAt: number, at: number): void {
  if (expectedHead) {
    if (
      data.compare(
        expectedHead,
        0,
        expectedHead.length,
        payloadAt,
        payloadAt + expectedHead.length,
      ) !== 0
    ) {
      problems.mismatches++;
      problem(`unexpected result: ${data.toString('utf8', payloadAt, payloadAt + 400)}`);
    }
  } else if (data.indexOf(ERRORS, payloadAt) !== -1) {
    problems.mismatches++;
    problem(`result with errors: ${data.toString('utf8', payloadAt, payloadAt + 400)}`);
  }
  const droppedAt = data.indexOf(DROPPED, payloadAt);
  if (droppedAt !== -1) {
    problems.dropped +=
      Number.parseInt(
        data.toString('latin1', droppedAt + DROPPED.length, droppedAt + DROPPED.length + 12),
        10,
      ) || 0;
  }
  if (timedBy === 'timestamp') {
    const tsAt = data.indexOf(TIMESTAMP, payloadAt);
    const end = tsAt === -1 ? -1 : data.indexOf(0x22, tsAt + TIMESTAMP.length);
    const stamp =
      end === -1 ? Number.NaN : Date.parse(data.toString('latin1', tsAt + TIMESTAMP.length, end));
    if (Number.isNaN(stamp)) {
      problems.unknown++;
      problem(`result without a timestamp: ${data.toString('utf8', payloadAt, payloadAt + 300)}`);
      return;
    }
    // `times` holds the latency itself in this mode.
    record(0, at - stamp);
    return;
  }
  const idAt = data.indexOf(EVENT_ID, payloadAt);
  const id =
    idAt === -1 ? '' : data.toString('latin1', idAt + EVENT_ID.length, idAt + EVENT_ID.length + 36);
  if (id.length !== 36 || !id.startsWith(eventTag)) {
    problems.unknown++;
    return;
  }
  const seq = Number.parseInt(id.slice(24), 16);
  if (seq <= connection.lastSeq) problems.outOfOrder++;
  else connection.lastSeq = seq;
  record(seq, at);
}

/** Opens one WebSocket, resolves once it is acknowledged and its subscription sent. */
function connectWebSocket(request: OpenRequest, identity: Identity, timing: { slowest: number }) {
  return new Promise<void>((resolve, reject) => {
    const started = performance.now();
    const ws = new WebSocket(request.url, 'graphql-transport-ws', { perMessageDeflate: false });
    let subscribed = false;
    const connection: Connection = {
      lastSeq: -1,
      close: () => {
        if (ws.readyState !== WebSocket.OPEN && ws.readyState !== WebSocket.CONNECTING) {
          return Promise.resolve();
        }
        const closed = new Promise<void>((done) => ws.once('close', () => done()));
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'bench done');
        else ws.terminate();
        return closed;
      },
      terminate: () => ws.terminate(),
    };
    connections.push(connection);
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(reason));
    };
    const timer = setTimeout(() => fail('no connection_ack within 30 s'), 30_000);
    ws.on('open', () => {
      ws.send(
        JSON.stringify({
          type: 'connection_init',
          payload: { 'x-identity': JSON.stringify(identity) },
        }),
      );
    });
    ws.on('message', (raw) => {
      const at = wallClock();
      const data = asBuffer(raw);
      if (
        data.length > nextPrefix.length &&
        data.compare(nextPrefix, 0, nextPrefix.length, 0, nextPrefix.length) === 0
      ) {
        onNext(connection, data, nextPrefix.length, at);
        return;
      }
      let message: { type?: string; payload?: unknown };
      try {
        message = JSON.parse(data.toString('utf8')) as typeof message;
      } catch {
        problem(`not JSON: ${data.toString('utf8', 0, 200)}`);
        return;
      }
      switch (message.type) {
        case 'connection_ack':
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          subscribed = true;
          timing.slowest = Math.max(timing.slowest, performance.now() - started);
          ws.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: { query: request.query, variables: request.variables },
            }),
          );
          resolve();
          return;
        case 'ping':
          ws.send(JSON.stringify({ type: 'pong' }));
          return;
        case 'pong':
          return;
        case 'next':
          // A `next` in another serialization than the hot path expects.
          problems.unknown++;
          problem(`next in an unexpected shape: ${data.toString('utf8', 0, 300)}`);
          return;
        default:
          problems.ended++;
          problem(`${message.type ?? 'message'}: ${JSON.stringify(message.payload ?? null)}`);
      }
    });
    ws.on('error', (error) => fail(error.message));
    ws.on('close', (code, reason) => {
      if (!subscribed) {
        fail(`closed before connection_ack: ${code} ${reason.toString()}`);
      } else if (!closing) {
        problems.closed++;
        problem(`closed by the server: ${code} ${reason.toString()}`);
      }
    });
  });
}

/**
 * The loopback address of subscriber `index` of client process `processIndex`, 127.(1 +
 * processIndex).x.y: one client address per subscriber, as the gateway's per-address subscribe
 * limit expects of real clients (Linux routes all of 127/8 to the loopback interface).
 */
function loopbackAddress(processIndex: number, index: number): string {
  const third = Math.floor(index / 254) % 256;
  return `127.${1 + (processIndex % 254)}.${third}.${(index % 254) + 1}`;
}

/** Subscribes over SSE or multipart, resolves once the response started as a stream. */
async function connectHttp(
  request: OpenRequest,
  transport: HttpTransport,
  identity: Identity,
  localAddress: string,
  timing: { slowest: number },
): Promise<void> {
  const started = performance.now();
  let ended = false;
  const connection: Connection = {
    lastSeq: -1,
    close: async () => undefined,
    terminate: () => undefined,
  };
  const subscription = await subscribeOverHttp(
    {
      transport,
      url: request.url,
      query: request.query,
      variables: request.variables,
      identity,
      localAddress,
      timeoutMs: 30_000,
    },
    {
      result: (payload, at) => onNext(connection, payload, 0, at),
      ended: (description) => {
        ended = true;
        problems.ended++;
        problem(`${transport} stream ended by the server: ${description}`);
      },
      unexpected: (description) => {
        problems.unknown++;
        problem(description);
      },
    },
  );
  timing.slowest = Math.max(timing.slowest, performance.now() - started);
  connection.close = () => subscription.close();
  connection.terminate = () => void subscription.close();
  subscription.onClosed((description) => {
    // A stream the server ended is counted as ended already.
    if (closing || ended) return;
    problems.closed++;
    problem(`${transport} stream closed by the server: ${description}`);
  });
  connections.push(connection);
}

async function open(request: OpenRequest): Promise<void> {
  eventTag = request.eventTag;
  timedBy = request.timing ?? 'seq';
  nextPrefix = Buffer.from('{"id":"1","type":"next","payload":');
  expectedHead =
    request.expectedData === undefined
      ? undefined
      : Buffer.from(`{"data":${request.expectedData},"extensions":{`);
  const timing = { slowest: 0 };
  let subscribed = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let next = 0;
  const transport = request.transport ?? 'ws';
  const worker = async () => {
    while (next < request.identities.length) {
      const index = next;
      const identity = request.identities[index] as Identity;
      next++;
      try {
        if (transport === 'ws') await connectWebSocket(request, identity, timing);
        else {
          const address = loopbackAddress(request.process ?? 0, index);
          await connectHttp(request, transport, identity, address, timing);
        }
        subscribed++;
      } catch (error) {
        failed++;
        firstFailure ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(request.concurrency, request.identities.length) }, worker),
  );
  send({
    type: 'opened',
    subscribed,
    failed,
    ...(firstFailure === undefined ? {} : { firstFailure }),
    slowestHandshakeMs: timing.slowest,
  });
}

function collect(publishTimes: Float64Array, from: number, to: number): Collected {
  const latencies = new Float64Array(received);
  let count = 0;
  if (timedBy === 'timestamp') {
    latencies.set(times.subarray(0, received));
    count = received;
  }
  for (let i = 0; timedBy === 'seq' && i < received; i++) {
    const seq = seqs[i] as number;
    if (seq < from || seq >= to) continue;
    const published = publishTimes[seq] ?? 0;
    if (published <= 0) {
      problems.unknown++;
      continue;
    }
    latencies[count++] = (times[i] as number) - published;
  }
  return {
    type: 'collected',
    latencies: latencies.slice(0, count),
    mismatches: problems.mismatches,
    dropped: problems.dropped,
    outOfOrder: problems.outOfOrder,
    unknown: problems.unknown,
    ...(firstProblem === undefined ? {} : { firstProblem }),
  };
}

async function closeAll(): Promise<void> {
  closing = true;
  const cutOff = setTimeout(() => {
    for (const c of connections) c.terminate();
  }, 5_000);
  await Promise.all(connections.map((c) => c.close()));
  clearTimeout(cutOff);
}

process.on('message', (message: ToClients) => {
  switch (message.type) {
    case 'open':
      open(message).catch((error: unknown) =>
        send({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
      );
      return;
    case 'count': {
      const cpu = process.cpuUsage();
      send({
        type: 'count',
        received,
        closed: problems.closed,
        ended: problems.ended,
        cpuMicros: cpu.user + cpu.system,
      });
      return;
    }
    case 'collect':
      send(collect(message.publishTimes, message.from, message.to));
      return;
    case 'close':
      void closeAll().then(() => send({ type: 'closed' }));
      return;
  }
});

process.on('disconnect', () => {
  closing = true;
  for (const c of connections) c.terminate();
  process.exit(0);
});
