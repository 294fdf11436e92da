/**
 * A local Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1, run from Apache
 * Kafka's own jars with the machine's Java, so development and tests need no Docker. The jars are
 * resolved from Maven Central once, with Maven, through `pom.xml` beside this file, and cached per
 * Kafka version. `startLocalKafka` runs one node alone; `startLocalKafkaCluster` (local-cluster.ts)
 * runs N of them as one cluster (a static controller quorum of every node), each node started by
 * `startLocalKafka`.
 *
 * This file is the start: it formats storage and launches the JVM. Beside it: Java and the jars
 * (jars.ts), ports (ports.ts), the files the broker is configured by (properties.ts), the data
 * dir's pid file (lock.ts), the watchdog that ties the JVM to this process (watchdog.ts), and
 * readiness (readiness.ts).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../lib/project-root';
import { indent, LocalKafkaError } from './errors';
import { checkJava, resolveJars } from './jars';
import { claimDataDir } from './lock';
import { claimPort, freePort, HOST, pickControllerPort } from './ports';
import { LOG4J2_PROPERTIES, serverProperties, type ClusterNode } from './properties';
import { waitUntilReady } from './readiness';
import { run } from './system';
import { spawnWithWatchdog, STOP_GRACE_MS } from './watchdog';

/** server.log is rotated once at start past this size, so a long-lived dev data dir stays bounded. */
const MAX_LOG_BYTES = 50 * 1024 * 1024;

/** What `startLocalKafka` starts. */
export interface LocalKafkaOptions {
  /** Apache Kafka version, as published on Maven Central (e.g. `4.4.0`). */
  version: string;
  /** Client (PLAINTEXT) port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Holds server.properties, the broker's log dir (`data/`) and its own logs (`logs/`). */
  dataDir: string;
  /** Java heap, MiB; the JVM starts at half of it. */
  heapMb: number;
  /**
   * Where resolved jars are kept, one folder per version.
   * @default `<repo>/.cache/kafka`
   */
  cacheDir?: string;
  /**
   * How long to wait for the broker and its group coordinator to answer.
   * @default 60_000
   */
  readyTimeoutMs?: number;
  /**
   * Receives progress lines (resolving jars, formatting, starting).
   * @default no-op
   */
  log?: (line: string) => void;
  /** This broker as one node of a cluster (`startLocalKafkaCluster`); alone when unset. */
  node?: ClusterNode;
}

/** A started broker, as `startLocalKafka` resolves it. */
export interface LocalKafka {
  /** Bootstrap servers, e.g. `['127.0.0.1:9092']`. */
  brokers: string[];
  /** The java process. */
  pid: number;
  dataDir: string;
  /** The broker's own log (log4j output plus the JVM's stdout/stderr). */
  logFile: string;
  /** Resolves when the java process has exited, whether by `stop()` or on its own. Never rejects. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after 20 s. Idempotent; resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts a local broker and resolves once it is ready for producers and consumer groups.
 * Storage is formatted only on first use of `dataDir`, so a restarted broker keeps its topics
 * and committed offsets.
 * @throws {LocalKafkaError} when Java or Maven is missing, the jars cannot be resolved, the
 * port is taken, or the broker exits or is not ready in time.
 */
export async function startLocalKafka(options: LocalKafkaOptions): Promise<LocalKafka> {
  const log = options.log ?? (() => {});
  const cacheDir = path.resolve(options.cacheDir ?? path.join(PROJECT_ROOT, '.cache', 'kafka'));
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const dataDir = path.resolve(options.dataDir);
  const logsDir = path.join(dataDir, 'logs');
  const logDir = path.join(dataDir, 'data');
  const logFile = path.join(logsDir, 'server.log');
  const propsFile = path.join(dataDir, 'server.properties');
  const log4jFile = path.join(dataDir, 'log4j2.properties');

  await checkJava();
  const libDir = await resolveJars(options.version, cacheDir, log);

  await fsp.mkdir(logsDir, { recursive: true });
  await fsp.mkdir(logDir, { recursive: true });
  const owner = await claimDataDir(dataDir);
  try {
    return await launch();
  } catch (error) {
    await owner.release();
    throw error;
  }

  async function launch(): Promise<LocalKafka> {
    const port = options.port === 0 ? await freePort() : await claimPort(options.port);
    const node = options.node;
    const controllerPort =
      node === undefined
        ? await pickControllerPort(propsFile, port)
        : (node.controllerPorts[node.id - 1] ?? 0);
    await fsp.writeFile(propsFile, serverProperties(port, controllerPort, logDir, node));
    await fsp.writeFile(log4jFile, LOG4J2_PROPERTIES);
    await rotateLog(logFile);

    const classpath = path.join(libDir, '*');
    // Kafka reads these at JVM start: where its log4j2 config is and where `${sys:kafka.logs.dir}` points.
    const logProps = [`-Dkafka.logs.dir=${logsDir}`, `-Dlog4j2.configurationFile=${log4jFile}`];

    if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
      log(`Formatting new Kafka storage in ${logDir}`);
      await formatStorage(classpath, logProps, propsFile, logFile, node?.clusterId);
    }

    const heap = Math.max(64, Math.floor(options.heapMb));
    const javaArgs = [
      `-Xms${Math.floor(heap / 2)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      ...logProps,
      '-cp',
      classpath,
      'kafka.Kafka',
      propsFile,
    ];
    log(`Starting Kafka ${options.version} on ${HOST}:${port} (log: ${logFile})`);
    const child = spawnWithWatchdog('java', javaArgs, logFile);
    const pid = child.pid;
    if (pid === undefined) {
      // spawn() reports ENOENT and friends asynchronously; `sh` missing is the only realistic cause.
      throw new LocalKafkaError(
        'Could not start the local Kafka broker: `sh` could not be spawned.',
      );
    }

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    // Failed kill()s and the like; without a listener they would crash the process.
    child.on('error', (error) => log(`Kafka process error: ${error.message}`));
    // The watchdog kills java when this pipe closes; close it ourselves once java is gone, so the
    // watchdog exits too instead of lingering until this node process does.
    void exited.then(() => child.stdin?.destroy());
    child.stdin?.on('error', () => {});

    // A synchronous last resort: 'exit' listeners cannot await, but can signal.
    const killOnExit = (): void => {
      child.kill('SIGTERM');
    };
    process.on('exit', killOnExit);
    void exited.then(() => process.off('exit', killOnExit));

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const graceful = await Promise.race([
          exited.then(() => true),
          sleep(STOP_GRACE_MS, false, { ref: false }),
        ]);
        if (!graceful) {
          log(`Kafka (pid ${pid}) did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
          child.kill('SIGKILL');
        }
        // Resolve only once the data dir is free again, so a restart right after stop() works.
        await released;
      })();
      return stopping;
    };

    const brokers = [`${HOST}:${port}`];
    await owner.record(pid, brokers);
    const released = exited.then(() => owner.release());
    try {
      await waitUntilReady(brokers, exited, readyTimeoutMs, logFile);
    } catch (error) {
      await stop();
      throw error;
    }
    return { brokers, pid, dataDir, logFile, exited, stop };
  }
}

// ---------------------------------------------------------------------------------------------
// Storage and logs

/** Kafka's cluster ids are 16 random bytes in URL-safe base64; one starting with '-' would read as a flag. */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function formatStorage(
  classpath: string,
  logProps: string[],
  propsFile: string,
  logFile: string,
  clusterId: string | undefined,
): Promise<void> {
  // A lone node formats itself as the only voter (--standalone); a cluster's nodes share an id
  // and take their voters from `controller.quorum.voters`.
  const result = await run(
    'java',
    [
      '-Xmx256m',
      ...logProps,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId ?? newClusterId(),
      '-c',
      propsFile,
      ...(clusterId === undefined ? ['--standalone'] : []),
    ],
    120_000,
  );
  await fsp.appendFile(
    logFile,
    `--- kafka-storage format (exit ${result.code}) ---\n${result.output}\n`,
  );
  if (result.code !== 0) {
    throw new LocalKafkaError(
      `Formatting the local Kafka storage failed (exit ${result.code ?? 'signal'}); see ${logFile}:\n${indent(result.output.trim().split('\n').slice(-10).join('\n'))}`,
    );
  }
}

async function rotateLog(logFile: string): Promise<void> {
  const size = await fsp.stat(logFile).then(
    (s) => s.size,
    () => 0,
  );
  if (size > MAX_LOG_BYTES) await fsp.rename(logFile, `${logFile}.1`);
}
