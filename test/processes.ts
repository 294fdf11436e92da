/**
 * The platform's real entry points as child processes, the way `npm start` and a deployment run
 * them: each `main.ts` reads its configuration from the environment, and is ready when its
 * `/ready` answers 200. Tests give every run its own ports, topic prefix and data folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
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
  return { name, port, baseUrl, child, output: () => output, stop };
}

export interface PlatformProcesses {
  gateway: ServiceProcess;
  users: ServiceProcess;
  interviews: ServiceProcess;
  reporting: ServiceProcess;
  notifications: ServiceProcess;
  stop(): Promise<void>;
}

export interface PlatformProcessesOptions {
  /** Topic and group prefix, e.g. `flows-1a2b.` */
  prefix: string;
  /** SQLite files (and, unless MAIL_DIR is given, the `mail/` folder). */
  dataDir: string;
  /** The gateway's port, when it must be known before (a redirect URI registered at the IdP). */
  gatewayPort?: number;
  /** Added to every process's environment (sign-in settings, retries, ...). */
  env?: Record<string, string>;
}

/**
 * The three subgraphs and the notification service, then the gateway routed to them: every
 * process of `npm start` but the broker, which the tests share.
 */
export async function startPlatformProcesses(
  options: PlatformProcessesOptions,
): Promise<PlatformProcesses> {
  const ports = {
    users: await freePort(),
    interviews: await freePort(),
    reporting: await freePort(),
    notifications: await freePort(),
    gateway: options.gatewayPort ?? (await freePort()),
  };
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'warn',
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_TOPIC_PREFIX: options.prefix,
    DATA_DIR: options.dataDir,
    INTERNAL_TOKEN_SECRET: TEST_INTERNAL_TOKEN_SECRET,
    USERS_PORT: String(ports.users),
    INTERVIEWS_PORT: String(ports.interviews),
    REPORTING_PORT: String(ports.reporting),
    NOTIFICATIONS_PORT: String(ports.notifications),
    GATEWAY_PORT: String(ports.gateway),
    GATEWAY_SUBGRAPH_URLS: (['users', 'interviews', 'reporting'] as const)
      .map((name) => `${name}=http://127.0.0.1:${ports[name]}/graphql`)
      .join(','),
    ...options.env,
  };
  const started: ServiceProcess[] = [];
  const stop = async () => {
    for (const service of started.reverse()) await service.stop();
  };
  try {
    const spawned = await Promise.allSettled([
      spawnService('users', 'subgraphs/users/main.ts', ports.users, env),
      spawnService('interviews', 'subgraphs/interviews/main.ts', ports.interviews, env),
      spawnService('reporting', 'subgraphs/reporting/main.ts', ports.reporting, env),
      spawnService('notifications', 'notifications/main.ts', ports.notifications, env),
    ]);
    for (const result of spawned) if (result.status === 'fulfilled') started.push(result.value);
    const failed = spawned.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [users, interviews, reporting, notifications] = started as [
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
    ];
    const gateway = await spawnService('gateway', 'gateway/main.ts', ports.gateway, env);
    started.push(gateway);
    return { gateway, users, interviews, reporting, notifications, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
