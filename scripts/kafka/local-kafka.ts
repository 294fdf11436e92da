/**
 * A local Apache Kafka broker (KRaft, combined broker + controller) on 127.0.0.1, run from Apache
 * Kafka's own jars with the machine's Java, so development and tests need no Docker. The jars are
 * resolved from Maven Central once, with Maven, through `pom.xml` beside this file, and cached per
 * Kafka version. `startLocalKafka` runs one node alone; `startLocalKafkaCluster` runs N of them as
 * one cluster (a static controller quorum of every node), each node started by `startLocalKafka`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { PROJECT_ROOT } from '../../lib/project-root';

const POM = path.join(__dirname, 'pom.xml');
const HOST = '127.0.0.1';
const MIN_JAVA = 17;
/** How long `stop()` waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 20_000;
/** server.log is rotated once at start past this size, so a long-lived dev data dir stays bounded. */
const MAX_LOG_BYTES = 50 * 1024 * 1024;
const LOG_TAIL_LINES = 8;
/** Written at the top of server.properties; `--fresh` only deletes directories carrying it. */
export const SERVER_PROPERTIES_HEADER = '# Written by scripts/kafka/local-kafka.ts';

const NO_CLUSTER_HINT = 'or set KAFKA_BROKERS to use an existing cluster.';

/** A local broker that cannot be set up or started; `message` is meant for a human, as is. */
export class LocalKafkaError extends Error {
  override readonly name = 'LocalKafkaError';
}

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

/** What a node needs to know of its cluster. */
export interface ClusterNode {
  /** `node.id`, 1-based. */
  id: number;
  /** Every node's controller port, by node id (index 0 is node 1): the static voter set. */
  controllerPorts: number[];
  /** Shared by every node: storage formatted for another cluster id is refused by Kafka. */
  clusterId: string;
}

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
// Prerequisites

interface RunResult {
  code: number | null;
  output: string;
  missing: boolean;
}

/** Runs a command to completion, folding stderr into the output; never throws. */
function run(command: string, args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error === null) return resolve({ code: 0, output, missing: false });
        const code = typeof error.code === 'number' ? error.code : null;
        resolve({ code, output, missing: error.code === 'ENOENT' });
      },
    );
  });
}

async function checkJava(): Promise<void> {
  const install = `Install OpenJDK ${MIN_JAVA} (apt-get install openjdk-${MIN_JAVA}-jre-headless) ${NO_CLUSTER_HINT}`;
  const result = await run('java', ['-version'], 30_000);
  if (result.missing) {
    throw new LocalKafkaError(
      `Java ${MIN_JAVA} or newer is needed to run the local Kafka broker, but \`java\` was not found on PATH. ${install}`,
    );
  }
  const major = parseJavaMajor(result.output);
  if (major === undefined) {
    const first = result.output.split('\n')[0]?.trim() ?? '';
    throw new LocalKafkaError(
      `Java ${MIN_JAVA} or newer is needed to run the local Kafka broker, but \`java -version\` did not report a version (${JSON.stringify(first)}). ${install}`,
    );
  }
  if (major < MIN_JAVA) {
    throw new LocalKafkaError(
      `Java ${MIN_JAVA} or newer is needed to run the local Kafka broker, but \`java\` on PATH is Java ${major}. ${install}`,
    );
  }
}

/** `java version "1.8.0_292"` → 8, `openjdk version "17.0.15" 2025-04-15` → 17, `"21-ea"` → 21. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

// ---------------------------------------------------------------------------------------------
// Jars

/**
 * Returns `<cacheDir>/<version>/lib`, copying the jars there with Maven when they are missing.
 * The copy lands in a temp dir that is renamed into place and only then marked complete, so an
 * interrupted or failed copy is never mistaken for a usable one. The marker records a hash of the
 * pom, so editing it (say, a new dependency) re-resolves.
 */
async function resolveJars(
  version: string,
  cacheDir: string,
  log: (line: string) => void,
): Promise<string> {
  const versionDir = path.join(cacheDir, version);
  const libDir = path.join(versionDir, 'lib');
  const marker = path.join(versionDir, 'complete');
  const pomHash = createHash('sha256')
    .update(await fsp.readFile(POM))
    .digest('hex');
  const markerText = `${pomHash}\n`;
  if ((await readOrUndefined(marker)) === markerText) return libDir;

  const mvnCheck = await run('mvn', ['-v'], 60_000);
  if (mvnCheck.missing) {
    throw new LocalKafkaError(
      `Maven is needed once to fetch the Kafka ${version} jars from Maven Central, but \`mvn\` was not found on PATH. Install it (apt-get install maven) ${NO_CLUSTER_HINT}`,
    );
  }

  await fsp.mkdir(versionDir, { recursive: true });
  // Leftovers of copies interrupted earlier (by any process) are useless: clear them.
  for (const entry of await fsp.readdir(versionDir)) {
    if (entry.startsWith('lib.tmp-')) {
      const pid = Number(entry.split('-')[1]);
      if (!isAlive(pid))
        await fsp.rm(path.join(versionDir, entry), { recursive: true, force: true });
    }
  }
  const tmpDir = path.join(versionDir, `lib.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  log(
    `Resolving Apache Kafka ${version} jars from Maven Central into ${libDir} (once per version)`,
  );
  const started = Date.now();
  const result = await run('mvn', [
    '-q',
    '-B',
    '-Dstyle.color=never',
    '-f',
    POM,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${tmpDir}`,
    '-DincludeScope=runtime',
    `-Dkafka.version=${version}`,
  ]);
  if (result.code !== 0) {
    await fsp.rm(tmpDir, { recursive: true, force: true });
    throw new LocalKafkaError(
      `Maven could not resolve the Apache Kafka ${version} jars (mvn exit code ${result.code ?? 'none: killed or timed out'}). Check the version and network access to Maven Central, ${NO_CLUSTER_HINT}\n${indent(mavenTail(result.output))}`,
    );
  }
  if ((await readOrUndefined(marker)) === markerText) {
    // Another process finished the same copy meanwhile and may already run from it: keep theirs.
    await fsp.rm(tmpDir, { recursive: true, force: true });
    return libDir;
  }
  await fsp.rm(marker, { force: true });
  await fsp.rm(libDir, { recursive: true, force: true });
  await fsp.rename(tmpDir, libDir);
  await fsp.writeFile(marker, markerText);
  const jars = (await fsp.readdir(libDir)).filter((f) => f.endsWith('.jar')).length;
  log(`Resolved ${jars} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libDir;
}

/** The last meaningful lines of Maven's output, without its colour codes and generic advice. */
function mavenTail(output: string): string {
  const boilerplate =
    /To see the full stack trace|Re-run Maven|For more information about the errors|\[Help \d+\] http/;
  const lines = stripVTControlCharacters(output)
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && l !== '[ERROR]' && !boilerplate.test(l));
  return lines.slice(-8).join('\n') || '(no output)';
}

// ---------------------------------------------------------------------------------------------
// Ports and files

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

/** Fails early, with a readable message, when a fixed port is taken (instead of a JVM stack trace). */
async function claimPort(port: number): Promise<number> {
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
async function pickControllerPort(propsFile: string, clientPort: number): Promise<number> {
  const previous = await readOrUndefined(propsFile);
  const match = previous === undefined ? null : /CONTROLLER:\/\/[^:\s]+:(\d+)/.exec(previous);
  const port = match?.[1] === undefined ? undefined : Number(match[1]);
  if (port !== undefined && port !== clientPort && (await isPortFree(port))) return port;
  for (;;) {
    const candidate = await freePort();
    if (candidate !== clientPort) return candidate;
  }
}

function serverProperties(
  port: number,
  controllerPort: number,
  logDir: string,
  node: ClusterNode | undefined,
): string {
  // A cluster's internal topics are replicated like the platform's (3 copies, 2 in sync) once it
  // has three nodes; one copy on fewer.
  const size = node?.controllerPorts.length ?? 1;
  const replicas = Math.min(size, 3);
  const minIsr = replicas >= 3 ? 2 : 1;
  const quorum =
    node === undefined
      ? `controller.quorum.bootstrap.servers=${HOST}:${controllerPort}`
      : `controller.quorum.voters=${node.controllerPorts.map((p, i) => `${i + 1}@${HOST}:${p}`).join(',')}`;
  return `${SERVER_PROPERTIES_HEADER} on every start; edits are overwritten.
process.roles=broker,controller
node.id=${node?.id ?? 1}
${quorum}
listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}
advertised.listeners=PLAINTEXT://${HOST}:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}
num.partitions=3
# One partition means one group coordinator to load: faster start, and the readiness probe
# then proves the coordinator every consumer group will use is loaded.
offsets.topic.num.partitions=1
offsets.topic.replication.factor=${replicas}
transaction.state.log.replication.factor=${replicas}
transaction.state.log.min.isr=${minIsr}
share.coordinator.state.topic.replication.factor=${replicas}
share.coordinator.state.topic.min.isr=${minIsr}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
`;
}

// Console off: stdout/stderr go to the same file anyway, and JVM crash output stays visible there.
const LOG4J2_PROPERTIES = `${SERVER_PROPERTIES_HEADER}
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir}/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafkaconfig.name = org.apache.kafka.common.config
logger.kafkaconfig.level = WARN
logger.clientconfig.name = org.apache.kafka.clients
logger.clientconfig.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.network.name = kafka.network
logger.network.level = WARN
`;

async function rotateLog(logFile: string): Promise<void> {
  const size = await fsp.stat(logFile).then(
    (s) => s.size,
    () => 0,
  );
  if (size > MAX_LOG_BYTES) await fsp.rename(logFile, `${logFile}.1`);
}

export async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * What a human needs from the broker's log after a failure: its error lines (a failed start buries
 * the cause under pages of orderly shutdown) and then the last lines.
 */
async function logTail(logFile: string): Promise<string> {
  const text = (await readOrUndefined(logFile)) ?? '';
  // Config dumps are long tab-indented blocks; they are noise in an error message.
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('\t'));
  const errors = [...new Set(lines.filter((l) => /\b(ERROR|FATAL)\b|Exception\b/.test(l)))].slice(
    -6,
  );
  const last = lines.slice(-LOG_TAIL_LINES).join('\n') || '(empty)';
  return errors.length === 0 ? last : `${errors.join('\n')}\n...\n${last}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/**
 * Whether `pid` runs and, where /proc can tell, its command line mentions `needle`: pid files
 * outlive container restarts, after which their pids may belong to anything.
 */
function isLiveProcess(pid: number, needle: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return true;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it just is not ours.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface DataDirOwner {
  record(javaPid: number, brokers: string[]): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes `<dataDir>/local-kafka.pid`. Two brokers on one data dir do not just fail: the second one's
 * controller writes to the metadata log before Kafka's own `.lock` is taken and can kill the first
 * (seen: "Unexpected error in raft IO thread"), so a second start must be refused before java runs.
 * A file whose processes are all gone (a crash, a SIGKILL) is stale and is taken over.
 */
async function claimDataDir(dataDir: string): Promise<DataDirOwner> {
  const file = path.join(dataDir, 'local-kafka.pid');
  const text = (owner: number, javaPid?: number, brokers?: string[]): string =>
    `${JSON.stringify({ owner, java: javaPid, brokers })}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.writeFile(file, text(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = parsePidFile(await readOrUndefined(file));
    if (
      holder !== undefined &&
      (isLiveProcess(holder.owner, 'node') ||
        (holder.java !== undefined && isLiveProcess(holder.java, dataDir)))
    ) {
      const where = holder.brokers === undefined ? '' : ` on ${holder.brokers.join(',')}`;
      throw new LocalKafkaError(
        `Another local Kafka broker (pid ${holder.java ?? holder.owner}${where}) is already using ${dataDir}. Stop it first, use another data dir, or point KAFKA_BROKERS at it. (If that process is not a broker, delete ${file}.)`,
      );
    }
    await fsp.rm(file, { force: true });
  }
  let released = false;
  return {
    async record(javaPid, brokers) {
      await fsp.writeFile(file, text(process.pid, javaPid, brokers));
    },
    async release() {
      if (released) return;
      released = true;
      await fsp.rm(file, { force: true });
    },
  };
}

function parsePidFile(
  raw: string | undefined,
): { owner: number; java?: number; brokers?: string[] } | undefined {
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { owner, java, brokers } = value as Record<string, unknown>;
    if (typeof owner !== 'number') return undefined;
    return {
      owner,
      ...(typeof java === 'number' ? { java } : {}),
      ...(Array.isArray(brokers) ? { brokers: brokers.map(String) } : {}),
    };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

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

/**
 * Runs `command` in place of a small `sh` that first forks a watchdog reading the stdin pipe from
 * this process. When that pipe closes (this node process exited, even by SIGKILL), the watchdog
 * sends SIGTERM, then SIGKILL after 20 s. Because `sh` then `exec`s the command, the child's pid is
 * the java pid, and signals from `stop()` reach java directly. `$$` in the watchdog subshell is the
 * pid of that shell, i.e. java's after the exec.
 *
 * The child gets its own process group (detached), so a terminal's Ctrl+C reaches only node,
 * which then stops the broker in order instead of racing it.
 */
function spawnWithWatchdog(command: string, args: string[], logFile: string): ChildProcess {
  const script = [
    // Background lists get /dev/null as stdin in a non-interactive sh: keep the pipe on fd 3.
    'exec 3<&0 0</dev/null',
    '{',
    '  while read -r _ <&3; do :; done',
    '  kill -TERM $$ 2>/dev/null || exit 0',
    '  i=0',
    '  while kill -0 $$ 2>/dev/null; do',
    `    if [ "$i" -ge ${STOP_GRACE_MS / 1000} ]; then kill -KILL $$ 2>/dev/null; exit 0; fi`,
    '    sleep 1; i=$((i + 1))',
    '  done',
    '} &',
    'exec "$@" 3<&-',
  ].join('\n');
  const out = fs.openSync(logFile, 'a');
  try {
    return spawn('sh', ['-c', script, 'local-kafka-watchdog', command, ...args], {
      stdio: ['pipe', out, out],
      detached: true,
    });
  } finally {
    // The child holds its own copy of the descriptor.
    fs.closeSync(out);
  }
}

// ---------------------------------------------------------------------------------------------
// Readiness

/**
 * Ready means what clients need: metadata answers, and the group coordinator has loaded (right
 * after start it answers COORDINATOR_LOAD_IN_PROGRESS for a while).
 */
async function waitUntilReady(
  brokers: string[],
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  timeoutMs: number,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const kafka = new Kafka({
    clientId: 'local-kafka-readiness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  let lastError = 'no attempt finished';
  while (Date.now() < deadline) {
    if (exit !== undefined) break;
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.listGroups();
      await admin.describeGroups(['local-kafka-readiness']);
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await Promise.race([sleep(250), exited]);
  }
  // Give an exit that raced the deadline a moment to be seen, so the message names the real cause.
  await Promise.race([exited, sleep(100)]);
  if (exit !== undefined) {
    const how = exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
    throw new LocalKafkaError(
      `The local Kafka broker exited before it was ready (${how}). Last lines of ${logFile}:\n${indent(await logTail(logFile))}`,
    );
  }
  throw new LocalKafkaError(
    `The local Kafka broker on ${brokers.join(',')} was not ready within ${timeoutMs / 1000} s (last error: ${lastError}). Last lines of ${logFile}:\n${indent(await logTail(logFile))}`,
  );
}
