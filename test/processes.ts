/**
 * The platform's real entry points as child processes, the way `npm start` and a deployment run
 * them: each `main.ts` reads its configuration from the environment, and is ready when its
 * `/ready` answers 200. Tests give every run its own ports, topic prefix and data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  SERVICES,
  SUBGRAPH_NAMES,
  type ServiceDefinition,
  type ServiceName,
} from '../config/services';
import type { TestIdp } from './browser';
import { startLoadBalancer, type LoadBalancer } from './haproxy';
import { freePort, testBrokers, waitFor } from './helpers';
import { TEST_INTERNAL_TOKEN_SECRET } from './subgraph-helpers';

const REPO_ROOT = path.resolve(__dirname, '..');

export interface ServiceProcess {
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  child: ChildProcess;
  /** What the process printed so far, for failure messages. */
  output(): string;
  /** SIGTERM (SIGKILL after 15 s), then waits for the exit. */
  stop(): Promise<void>;
  /**
   * Stops it, then starts it again as it was (same port and environment), until ready. The same
   * object then stands for the new process (`child`, `output`, `stop`).
   */
  restart(): Promise<ServiceProcess>;
}

/** Spawns `entry` (e.g. `gateway/main.ts`) with `env` and waits until `/ready` answers 200. */
export async function spawnService(
  name: string,
  entry: string,
  port: number,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The tail only: a long run (a benchmark) must not grow the parent with its output.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    // A process that does not stop in 15 s is killed.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      `${name} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
        const ready = await fetch(`${baseUrl}/ready`).catch(() => undefined);
        return ready?.status === 200;
      },
      readyTimeoutMs,
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${name} printed:\n${output}`);
  }
  const service: ServiceProcess = {
    name,
    port,
    baseUrl,
    child,
    output: () => output,
    stop,
    restart: async () => {
      await service.stop();
      const next = await spawnService(name, entry, port, env, readyTimeoutMs);
      Object.assign(service, { child: next.child, output: next.output, stop: next.stop });
      return service;
    },
  };
  return service;
}

/**
 * `gateway/main.ts` in a child process on a free port, routed by `supergraphSdl` (written to
 * `dir`), reading `prefix`'s topics on the test brokers (or `KAFKA_BROKERS` in `env`).
 */
export async function spawnGatewayProcess(
  supergraphSdl: string,
  prefix: string,
  dir: string,
  env: Record<string, string> = {},
): Promise<{
  url: string;
  child: ChildProcess;
  service: ServiceProcess;
  stop: () => Promise<void>;
}> {
  const port = await freePort();
  const supergraphPath = path.join(dir, `supergraph-${port}.graphql`);
  writeFileSync(supergraphPath, supergraphSdl);
  const gateway = await spawnService('gateway', 'gateway/main.ts', port, {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    GATEWAY_PORT: String(port),
    SUPERGRAPH_PATH: supergraphPath,
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: prefix.replace(/\.$/, '') + '.',
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    ...env,
  });
  return {
    url: `${gateway.baseUrl}/graphql`,
    child: gateway.child,
    service: gateway,
    stop: gateway.stop,
  };
}

export interface PlatformProcesses {
  /** The first gateway replica. */
  gateway: ServiceProcess;
  /** The first replica of each subgraph. */
  users: ServiceProcess;
  interviews: ServiceProcess;
  reporting: ServiceProcess;
  /** The first notification replica. */
  notifications: ServiceProcess;
  /** Every replica, by service (one each unless `replicas` asked for more). */
  replicas: Record<ServiceName, ServiceProcess[]>;
  /** Where clients go: HAProxy's gateway frontend with several gateways, else the gateway. */
  gatewayUrl: string;
  /** HAProxy, when a service has several replicas. */
  loadBalancer?: LoadBalancer;
  stop(): Promise<void>;
}

export interface PlatformProcessesOptions {
  /** Topic and group prefix, e.g. `flows-1a2b.` */
  prefix: string;
  /** SQLite files (and, unless MAIL_DIR is given, the `mail/` folder). */
  dataDir: string;
  /**
   * The port clients use (the gateway's, or HAProxy's in front of several), when it must be
   * known before (a redirect URI registered at the IdP).
   */
  gatewayPort?: number;
  /**
   * Sign-in at this IdP: clients reach the gateway on the IdP's registered port (instead of
   * `gatewayPort`), and every process gets the sign-in settings (OIDC_ISSUER, PUBLIC_URL, ...).
   */
  signIn?: TestIdp;
  /** Added to every process's environment (retries, ...). */
  env?: Record<string, string>;
  /**
   * Processes per service; a gateway or subgraph with more than one sits behind HAProxy (the
   * gateway routes to the subgraph's frontend). Replicas share a database: give DATABASE_URL.
   */
  replicas?: Partial<Record<ServiceName, number>>;
}

/**
 * Every process of `npm start` (config/services.ts) but the broker, which the tests share: the
 * subgraphs and the notification service, then the gateway routed to them.
 */
export async function startPlatformProcesses(
  options: PlatformProcessesOptions,
): Promise<PlatformProcesses> {
  const count = (name: ServiceName) => options.replicas?.[name] ?? 1;
  const ports = async (n: number) => Promise.all(Array.from({ length: n }, () => freePort()));
  const balanced = SERVICES.some((s) => s.kind !== 'worker' && count(s.name) > 1);
  const entryPort = options.signIn?.port ?? options.gatewayPort ?? (await freePort());
  const replicaPorts = {} as Record<ServiceName, number[]>;
  for (const { name } of SERVICES) {
    replicaPorts[name] =
      name === 'gateway' && count(name) === 1 ? [entryPort] : await ports(count(name));
  }
  /** HAProxy's port in front of a gateway or subgraph with several replicas. */
  const frontends: Partial<Record<ServiceName, number>> = {};
  for (const { name, kind } of SERVICES) {
    if (kind === 'worker' || count(name) === 1) continue;
    frontends[name] = name === 'gateway' ? entryPort : await freePort();
  }
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'warn',
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: options.prefix,
    DATA_DIR: options.dataDir,
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    GATEWAY_SUBGRAPH_URLS: SUBGRAPH_NAMES.map(
      (name) => `${name}=http://127.0.0.1:${frontends[name] ?? replicaPorts[name][0]}/graphql`,
    ).join(','),
    // HAProxy is the gateway's only peer that may set X-Forwarded-For.
    ...(balanced ? { TRUSTED_PROXIES: '127.0.0.1' } : {}),
    ...(options.signIn ? signInEnvironment(options.signIn) : {}),
    ...options.env,
  };
  const started: ServiceProcess[] = [];
  let loadBalancer: LoadBalancer | undefined;
  const stop = async () => {
    await loadBalancer?.stop();
    for (const service of started.reverse()) await service.stop();
  };
  /** Every replica of `services`, at once; the replicas by service once all are ready. */
  const spawnAll = async (services: readonly ServiceDefinition[]) => {
    const replicas = services.flatMap((s) =>
      replicaPorts[s.name].map((port, i) => ({
        service: s,
        name: count(s.name) === 1 ? s.name : `${s.name}-${i + 1}`,
        port,
      })),
    );
    const spawned = await Promise.allSettled(
      replicas.map(({ service, name, port }) =>
        spawnService(name, `${service.entry}.ts`, port, {
          ...env,
          [service.portVariable]: String(port),
        }),
      ),
    );
    for (const result of spawned) if (result.status === 'fulfilled') started.push(result.value);
    const failed = spawned.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const processes = spawned.map((r) => (r as PromiseFulfilledResult<ServiceProcess>).value);
    return services.map((s) => processes.filter((_, i) => replicas[i]!.service === s));
  };
  /** (Re)starts HAProxy with a frontend for each of `names` that has several replicas. */
  const backends: Record<string, { port: number; replicas: number[] }> = {};
  const balance = async (names: readonly ServiceName[]) => {
    const added = names.filter((name) => frontends[name] !== undefined);
    if (added.length === 0) return;
    for (const name of added)
      backends[name] = { port: frontends[name]!, replicas: replicaPorts[name] };
    await loadBalancer?.stop();
    loadBalancer = await startLoadBalancer(backends, options.dataDir);
  };
  try {
    const backendServices = SERVICES.filter((s) => s.kind !== 'gateway');
    const gatewayService = SERVICES.filter((s) => s.kind === 'gateway');
    const replicas = {} as Record<ServiceName, ServiceProcess[]>;
    (await spawnAll(backendServices)).forEach((r, i) => (replicas[backendServices[i]!.name] = r));
    await balance(SUBGRAPH_NAMES);
    replicas.gateway = (await spawnAll(gatewayService))[0]!;
    await balance(['gateway']);
    return {
      gateway: replicas.gateway[0]!,
      users: replicas.users[0]!,
      interviews: replicas.interviews[0]!,
      reporting: replicas.reporting[0]!,
      notifications: replicas.notifications[0]!,
      replicas,
      gatewayUrl: `http://127.0.0.1:${entryPort}`,
      ...(loadBalancer ? { loadBalancer } : {}),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The environment of a gateway that signs in at `idp` (what `gateway/main.ts` reads). */
function signInEnvironment(idp: TestIdp): Record<string, string> {
  return {
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    AUTHENTIK_WEBHOOK_SECRET: idp.webhookSecret,
    PUBLIC_URL: idp.publicUrl,
  };
}
