/**
 * Ports on 127.0.0.1 for the local broker: a free one, a fixed one checked before the JVM would
 * fail on it, and the controller port kept from one run of a data dir to the next.
 */
import { once } from 'node:events';
import * as net from 'node:net';
import { LocalKafkaError, NO_CLUSTER_HINT } from './errors';
import { readOrUndefined } from './system';

/** The only interface the local broker listens on. */
export const HOST = '127.0.0.1';

/** Binds 127.0.0.1:0 to learn a port the OS considers free. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  return address.port;
}

/**
 * Fails early, with a readable message, when a fixed port is taken (instead of a JVM stack trace).
 * @throws {LocalKafkaError} when `port` is out of range or in use.
 */
export async function claimPort(port: number): Promise<number> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new LocalKafkaError(
      `The local Kafka port must be 0 (any free port) or 1-65535, not ${port}.`,
    );
  }
  if (!(await isPortFree(port))) {
    throw new LocalKafkaError(
      `Port ${port} on ${HOST} is already in use (another Kafka?), so the local broker cannot start there. Stop whatever listens on it, pick another port (LOCAL_KAFKA_PORT, or 0 for any), ${NO_CLUSTER_HINT}`,
    );
  }
  return port;
}

/** Whether `port` on 127.0.0.1 can be listened on right now (by trying it). */
export async function isPortFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const outcome = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => resolve(true));
  });
  if (outcome) {
    server.close();
    await once(server, 'close');
  }
  return outcome;
}

/**
 * Reuses the controller port of the previous run of this data dir when it is still free: the
 * KRaft voter set stored in the log names it, and while Kafka copes with a change, keeping it
 * avoids a voter update on every restart.
 */
export async function pickControllerPort(propsFile: string, clientPort: number): Promise<number> {
  const previous = await readOrUndefined(propsFile);
  const match = previous === undefined ? null : /CONTROLLER:\/\/[^:\s]+:(\d+)/.exec(previous);
  const port = match?.[1] === undefined ? undefined : Number(match[1]);
  if (port !== undefined && port !== clientPort && (await isPortFree(port))) return port;
  for (;;) {
    const candidate = await freePort();
    if (candidate !== clientPort) return candidate;
  }
}
