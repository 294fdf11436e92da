/**
 * `GATEWAY_WORKERS=2`: one gateway port served by two processes (node:cluster), each with its
 * own Kafka feed. Both serve; a mutation made through one worker reaches a subscriber of the
 * other; a worker killed is replaced; SIGTERM to the primary stops them all, closing sockets with
 * 1012, and exits 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { testUser, waitFor } from '../helpers';
import { asIdentity, liveClients, pastCreation, recordings } from '../live';
import { startTestPlatform, type TestPlatform } from '../platform';
import { spawnGatewayProcess } from '../processes';
import { graphql } from '../subgraph-helpers';

jest.setTimeout(180_000);

describe('the gateway as two worker processes on one port', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ig-workers-'));
  const alice = testUser('alice');
  const clients = liveClients();
  const { subscribe, disposeAll } = recordings();
  let platform: TestPlatform | undefined;
  let gateway: Awaited<ReturnType<typeof spawnGatewayProcess>> | undefined;

  /** A GET on a connection of its own (no keep-alive), as a new client's would be. */
  const fresh = (pathname: string) =>
    new Promise<string>((resolve, reject) => {
      const request = get(new URL(pathname, gateway!.url), { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      });
      request.setTimeout(2_000, () => request.destroy(new Error(`GET ${pathname} timed out`)));
      request.on('error', reject);
    });

  /** The pids answering `/health` over `n` fresh connections. */
  const workerPids = async (n = 20): Promise<Set<number>> => {
    const pids = new Set<number>();
    for (let i = 0; i < n; i++)
      pids.add((JSON.parse(await fresh('/health')) as { pid: number }).pid);
    return pids;
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    gateway = await spawnGatewayProcess(platform.supergraphSdl, platform.topicPrefix, dir, {
      GATEWAY_WORKERS: '2',
    });
    await platform.register(alice);
  });

  afterEach(() => disposeAll());

  afterAll(async () => {
    await clients.disposeAll();
    await gateway?.stop();
    await platform?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from two processes, and delivers a mutation made through one to subscribers of both', async () => {
    // Ready means one worker serves; the other may take a moment more to listen.
    let pids = new Set<number>();
    await waitFor('both workers to serve', async () => (pids = await workerPids(10)).size === 2);
    expect(pids.has(gateway!.child.pid!)).toBe(false); // the primary only supervises

    const gql = <T = Record<string, unknown>>(query: string, variables = {}) =>
      graphql<T>(gateway!.url, query, variables, alice);
    await waitFor(
      'the profile',
      async () => (await gql<{ me: unknown }>('{ me { id } }')).data?.me != null,
    );
    const created = await gql<{ createInterview: { id: string } }>(
      `mutation { createInterview(input: { title: "Workers", position: "SRE", questions: ["One"] }) { id } }`,
    );
    const id = created.data!.createInterview.id;
    // Connections go to the workers in turn: of four sockets, each worker has some.
    const watchers = Array.from({ length: 4 }, () => {
      const { client } = clients.connect(gateway!.url, asIdentity(alice));
      return subscribe<{ interviewUpdated: { status: string } }>(
        client,
        {
          query: `subscription ($id: ID!) { interviewUpdated(id: $id) { status } }`,
          variables: { id },
        },
        pastCreation,
      );
    });
    await waitFor('the subscriptions', async () => {
      const metrics = await Promise.all(
        Array.from({ length: 6 }, async () =>
          Number(/^gateway_subscriptions (\d+)/m.exec(await fresh('/metrics'))?.[1] ?? 0),
        ),
      );
      return metrics.every((m) => m >= 1);
    });
    const started = await gql(`mutation ($id: ID!) { startInterview(id: $id) { status } }`, { id });
    expect(started.errors).toBeUndefined();
    for (const watcher of watchers) {
      const [result] = await watcher.received(1);
      expect(result!.data).toEqual({ interviewUpdated: { status: 'IN_PROGRESS' } });
    }
  });

  it('replaces a worker that dies, and stops every worker on SIGTERM, closing sockets with 1012', async () => {
    const before = await workerPids();
    const [victim] = before;
    process.kill(victim!, 'SIGKILL');
    await waitFor(
      'a new worker',
      async () => {
        const now = await workerPids(10).catch(() => new Set<number>());
        return now.size === 2 && !now.has(victim!);
      },
      30_000,
    );

    const { client, closes } = clients.connect(gateway!.url, asIdentity(alice));
    const idle = subscribe(client, { query: `subscription { myInterviewEvents { eventType } }` });
    await waitFor('the socket', () => closes.length === 0 && idle.errors === undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const workers = await workerPids();
    await gateway!.stop();
    expect(gateway!.child.exitCode).toBe(0);
    await waitFor('the socket to close', () => closes.length > 0);
    expect(closes[0]!.code).toBe(1012);
    for (const pid of workers) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
  });
});
