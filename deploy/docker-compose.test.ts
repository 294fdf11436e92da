/**
 * Keeps docker-compose.yml consistent with the code's configuration and with itself. No Docker
 * engine runs where the tests run, so this reads the file instead: first against the compose
 * specification's JSON schema (structure and types, deploy/compose-check.ts), then with the
 * platform's own checks below, each a function returning the problems it finds, run once on the
 * real file and once on a broken copy (so each check is known to be able to fail).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CONFIG_DEFAULTS, CONFIG_VARIABLES, ConfigError, loadConfig } from '../config';
import {
  SERVICES,
  service as serviceNamed,
  type PortVariable,
  type ServiceDefinition,
} from '../config/services';
import { TOPICS, deadLetterTopic } from '../events/topics';
import {
  ComposeSchemaError,
  REQUIRED_VARIABLE,
  commandWords,
  composeSchemaProblems,
  dashboardPanels,
  dependencies,
  dependsOn,
  dockerStages,
  dockerfileOf,
  envOf,
  healthcheckWords,
  hostPathOf,
  imageLayout,
  imageTag,
  instructionWords,
  interpolateDefaults,
  loadCompose,
  mounts,
  optionValue,
  parseComposeYaml,
  parseListeners,
  parsePort,
  portOf,
  promqlLabelNames,
  promqlMetricNames,
  type ComposeFile,
  type ComposeService,
  type DockerStage,
} from './compose-check';
import { METRIC_NAMES, metricOfSeries } from './metric-names';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_PATH = path.join(ROOT, 'docker-compose.yml');
const POM_PATH = path.join(ROOT, 'scripts', 'kafka', 'pom.xml');
/** What `npm run build` compiles into dist/, which the image runs. */
const BUILD_TSCONFIG = path.join(ROOT, 'tsconfig.build.json');

/** The processes of config/services.ts the gateway routes GraphQL to. */
const SUBGRAPHS = SERVICES.filter((s) => s.kind === 'subgraph');
/**
 * The notification service: Kafka consumers, a database and /health and /ready, but no GraphQL
 * (the gateway does not route to it) and no requests from the gateway (no identity tokens).
 */
const NOTIFICATIONS = serviceNamed('notifications');
const GATEWAY = serviceNamed('gateway');
/** Each owns a PostgreSQL database named after it, created by the init scripts. */
const SERVICE_DATABASES = SERVICES.filter((s) => s.database).map((s) => s.name);

/** `node [flags] dist/<entry>.js`: how the image runs an entry point, compiled. */
function nodeCommand({ entry, nodeFlags }: Pick<ServiceDefinition, 'entry' | 'nodeFlags'>): string {
  return ['node', ...nodeFlags, path.posix.join('dist', `${entry}.js`)].join(' ');
}

/** Variables the gateway needs in production: sign-in (README "Identity") and the webhook. */
const GATEWAY_REQUIRED = [
  'OIDC_ISSUER',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
  'AUTHENTIK_WEBHOOK_SECRET',
  'PUBLIC_URL',
] as const;

const load = (text: string): ComposeFile => loadCompose(text, ROOT);

// ---------------------------------------------------------------------------------------------
// Small readers of this platform's file (the generic ones: deploy/compose-check.ts).

type Kind =
  'kafka' | 'postgres' | 'authentik' | 'prometheus' | 'grafana' | 'otel-collector' | 'app';

/** Third-party images configure themselves from variables of their own; anything else is ours. */
const THIRD_PARTY_IMAGES: [Exclude<Kind, 'app'>, RegExp][] = [
  ['kafka', /^(docker\.io\/)?apache\/kafka(:|@|$)/],
  ['postgres', /^(docker\.io\/)?(library\/)?postgres(:|@|$)/],
  ['authentik', /^(ghcr\.io\/)?goauthentik\/server(:|@|$)/],
  ['prometheus', /^(docker\.io\/|quay\.io\/)?prom\/prometheus(:|@|$)/],
  ['grafana', /^(docker\.io\/)?grafana\/grafana(-oss)?(:|@|$)/],
  ['otel-collector', /^(docker\.io\/|ghcr\.io\/)?otel\/opentelemetry-collector(-contrib)?(:|@|$)/],
];

function kindOf(service: ComposeService): Kind {
  const image = service.image === undefined ? '' : interpolateDefaults(service.image);
  return THIRD_PARTY_IMAGES.find(([, pattern]) => pattern.test(image))?.[0] ?? 'app';
}

function servicesOf(file: ComposeFile, kind: Kind): [string, ComposeService][] {
  return Object.entries(file.doc.services).filter(([, service]) => kindOf(service) === kind);
}

/** Variable names set by the service's `env_file`s; a missing file is a problem. */
function envFileKeys(
  file: ComposeFile,
  name: string,
  service: ComposeService,
): [string[], string[]] {
  const keys: string[] = [];
  const problems: string[] = [];
  for (const envPath of [service.env_file ?? []].flat()) {
    const full = path.resolve(file.dir, envPath);
    if (!fs.existsSync(full)) {
      problems.push(`${name}: env_file ${envPath} does not exist`);
      continue;
    }
    for (const line of fs.readFileSync(full, 'utf8').split('\n')) {
      const match = /^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=/.exec(line);
      if (match?.[1] !== undefined) keys.push(match[1]);
    }
  }
  return [keys, problems];
}

function postgresPort(service: ComposeService): number {
  return Number(envOf(service).get('PGPORT') ?? 5432);
}

/** The ports a service listens on inside its container, as far as the file tells. */
function listeningPorts(service: ComposeService, file: ComposeFile): number[] {
  const env = envOf(service);
  switch (kindOf(service)) {
    case 'prometheus':
      return [prometheusPort(service)];
    case 'grafana':
      return [Number(env.get('GF_SERVER_HTTP_PORT') ?? 3000)];
    case 'otel-collector': {
      const { config } = readCollectorConfig(file, service);
      return otlpReceivers(config).flatMap((r) => (r.port === undefined ? [] : [r.port]));
    }
    case 'kafka':
      return parseListeners(env.get('KAFKA_LISTENERS')).map((l) => l.port);
    case 'postgres':
      return [postgresPort(service)];
    case 'authentik': {
      const command = commandWords(service.command).join(' ');
      if (!/\bserver\b/.test(command)) return []; // the worker serves nothing worth publishing
      const portOf = (variable: string, fallback: number) =>
        Number(/:(\d+)$/.exec(env.get(variable) ?? '')?.[1] ?? fallback);
      return [portOf('AUTHENTIK_LISTEN__HTTP', 9000), portOf('AUTHENTIK_LISTEN__HTTPS', 9443)];
    }
    case 'app': {
      // Our services take their port from their configuration: the port must be named in their
      // environment or their healthcheck, so the file says the same thing twice.
      const mentioned = [...env.values(), ...healthcheckWords(service)].join(' ');
      return [...mentioned.matchAll(/\b(\d{2,5})\b/g)].map((m) => Number(m[1]));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The checks. Each returns one line per problem; the real file must have none.

function kafkaProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const brokers = servicesOf(file, 'kafka');
  if (brokers.length === 0) problems.push('no service runs the apache/kafka image');
  for (const [name, service] of brokers) {
    const env = envOf(service);
    const tag = imageTag(service.image ?? '');
    if (tag !== CONFIG_DEFAULTS.LOCAL_KAFKA_VERSION) {
      problems.push(
        `${name}: image tag ${tag} is not LOCAL_KAFKA_VERSION's default ${CONFIG_DEFAULTS.LOCAL_KAFKA_VERSION}`,
      );
    }
    const partitions = env.get('KAFKA_NUM_PARTITIONS');
    if (partitions !== String(CONFIG_DEFAULTS.KAFKA_TOPIC_PARTITIONS)) {
      problems.push(
        `${name}: KAFKA_NUM_PARTITIONS ${partitions} is not KAFKA_TOPIC_PARTITIONS' default ${CONFIG_DEFAULTS.KAFKA_TOPIC_PARTITIONS}`,
      );
    }
    if (env.get('KAFKA_AUTO_CREATE_TOPICS_ENABLE')?.toLowerCase() !== 'false') {
      problems.push(
        `${name}: KAFKA_AUTO_CREATE_TOPICS_ENABLE must be 'false': the platform creates its topics`,
      );
    }
    const roles = (env.get('KAFKA_PROCESS_ROLES') ?? '')
      .split(',')
      .map((r) => r.trim())
      .sort();
    if (roles.join(',') !== 'broker,controller') {
      problems.push(`${name}: KAFKA_PROCESS_ROLES must be broker,controller (KRaft, combined)`);
    }
    const nodeId = env.get('KAFKA_NODE_ID');
    const voters = (env.get('KAFKA_CONTROLLER_QUORUM_VOTERS') ?? '').split(',');
    if (nodeId === undefined || !voters.some((v) => v.startsWith(`${nodeId}@`))) {
      problems.push(`${name}: KAFKA_CONTROLLER_QUORUM_VOTERS must name KAFKA_NODE_ID ${nodeId}`);
    }
    if (!env.has('CLUSTER_ID'))
      problems.push(`${name}: set CLUSTER_ID, so the storage id is fixed`);
  }
  const brokerCount = brokers.length;
  const factor = CONFIG_DEFAULTS.KAFKA_REPLICATION_FACTOR;
  if (factor !== 'auto' && brokerCount < factor) {
    problems.push(
      `${brokerCount} broker(s) cannot hold KAFKA_REPLICATION_FACTOR's default ${CONFIG_DEFAULTS.KAFKA_REPLICATION_FACTOR}`,
    );
  }
  if (/zookeeper/i.test(file.text))
    problems.push('the file mentions ZooKeeper: Kafka 4 runs on KRaft only');
  return problems;
}

/** The pom of `npm run kafka` resolves the same Kafka version as the image. */
function pomProblems(file: ComposeFile, pom: string): string[] {
  const pomVersion = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  return servicesOf(file, 'kafka')
    .map(([name, service]) => [name, imageTag(service.image ?? '')] as const)
    .filter(([, tag]) => tag !== pomVersion)
    .map(
      ([name, tag]) =>
        `${name}: image tag ${tag} differs from scripts/kafka/pom.xml's ${pomVersion}`,
    );
}

/** Topic names written in the file (e.g. in comments) are the platform's. */
function topicProblems(file: ComposeFile): string[] {
  const known = new Set<string>(TOPICS.flatMap((t) => [t, deadLetterTopic(t)]));
  return [...file.text.matchAll(/\b[a-z][a-z0-9]*-events(\.dlq)?\b/g)]
    .map((m) => m[0])
    .filter((topic) => !known.has(topic))
    .map((topic) => `topic ${topic} is not in events/topics.ts`);
}

/**
 * Variables the OpenTelemetry SDK reads itself, by its specification's names, rather than
 * config/index.ts. Not read yet: the tracing that will read them is not built; when it lands,
 * it takes them through config/index.ts and they leave this list.
 */
const OTEL_SDK_VARIABLES = ['OTEL_EXPORTER_OTLP_ENDPOINT'];

function appEnvironmentProblems(file: ComposeFile): string[] {
  const known = new Set<string>([...CONFIG_VARIABLES, ...OTEL_SDK_VARIABLES]);
  const problems: string[] = [];
  for (const [name, service] of servicesOf(file, 'app')) {
    const [fromFiles, fileProblems] = envFileKeys(file, name, service);
    problems.push(...fileProblems);
    for (const key of [...envOf(service).keys(), ...fromFiles]) {
      if (!known.has(key))
        problems.push(`${name}: ${key} is not in CONFIG_VARIABLES (config/index.ts)`);
    }
  }
  return problems;
}

const buildSourcesCache = new Map<string, Set<string>>();

/** The source files tsconfig.build.json compiles, relative to the repository. */
function buildSources(tsconfig = BUILD_TSCONFIG): Set<string> {
  let sources = buildSourcesCache.get(tsconfig);
  if (sources === undefined) {
    const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    });
    sources = new Set((parsed?.fileNames ?? []).map((f) => path.relative(ROOT, f)));
    buildSourcesCache.set(tsconfig, sources);
  }
  return sources;
}

/** The port an application service listens on: its port variable, or that variable's default. */
function appPort(service: ComposeService, variable: PortVariable): number {
  return Number(envOf(service).get(variable) ?? CONFIG_DEFAULTS[variable]);
}

/** What every application service needs: image, entry point, environment, healthcheck. */
function appServiceProblems(
  file: ComposeFile,
  name: string,
  service: ComposeService,
  spec: ServiceDefinition,
): string[] {
  const { portVariable, internalToken } = spec;
  const entry = `${spec.entry}.ts`;
  const problems: string[] = [];
  if (kindOf(service) !== 'app') problems.push(`${name}: must run the application image`);
  const dockerfile = dockerfileOf(file, service);
  if (dockerfile === undefined) {
    problems.push(`${name}: must build the application image (build: .)`);
  } else if (!fs.existsSync(dockerfile)) {
    problems.push(`${name}: ${path.relative(file.dir, dockerfile)} does not exist`);
  }
  // The compiled entry point with plain node: no TypeScript compiler in a production process.
  const command = commandWords(service.command).join(' ');
  const run = nodeCommand(spec);
  if (command !== run) {
    problems.push(`${name}: command "${command}" is not "${run}" (${entry} compiled)`);
  }
  if (!fs.existsSync(path.join(ROOT, entry))) {
    problems.push(`${name}: ${entry} does not exist`);
  } else if (!buildSources().has(entry)) {
    problems.push(`${name}: npm run build does not compile ${entry} (tsconfig.build.json)`);
  }

  const env = envOf(service);
  const expected: [string, string][] = [
    ['HOST', '0.0.0.0'],
    ['NODE_ENV', 'production'],
  ];
  for (const [key, value] of expected) {
    if (env.get(key) !== value) problems.push(`${name}: ${key} ${env.get(key)} is not ${value}`);
  }
  if (!internalToken) {
    // A secret is only where it is used.
    if (env.has('INTERNAL_TOKEN_SECRET'))
      problems.push(`${name}: gets INTERNAL_TOKEN_SECRET, but takes no identity tokens`);
  } else if (!REQUIRED_VARIABLE.test(env.get('INTERNAL_TOKEN_SECRET') ?? '')) {
    problems.push(`${name}: INTERNAL_TOKEN_SECRET must come from a required variable`);
  }

  // Kafka: a broker listener advertised under the kafka service's own name, once it is healthy.
  const brokers = (env.get('KAFKA_BROKERS') ?? '').split(',').filter((b) => b.trim() !== '');
  if (brokers.length === 0) problems.push(`${name}: KAFKA_BROKERS is not set`);
  for (const broker of brokers) {
    const [host = '', port] = broker.trim().split(':');
    const kafka = file.doc.services[host];
    const advertised = kafka ? parseListeners(envOf(kafka).get('KAFKA_ADVERTISED_LISTENERS')) : [];
    if (kafka === undefined || kindOf(kafka) !== 'kafka') {
      problems.push(`${name}: KAFKA_BROKERS ${broker} is no kafka service`);
    } else if (!advertised.some((a) => a.host === host && a.port === Number(port))) {
      problems.push(`${name}: KAFKA_BROKERS ${broker} is not a listener ${host} advertises`);
    }
    if (!dependsOn(service, host, 'service_healthy'))
      problems.push(`${name}: must wait for ${host} to be healthy`);
  }

  // The healthcheck asks the service's own port for /ready.
  const port = appPort(service, portVariable);
  const probes = healthcheckWords(service).join(' ');
  const probed = [...probes.matchAll(/\/\/(?:127\.0\.0\.1|localhost):(\d+)\/ready\b/g)].map((m) =>
    Number(m[1]),
  );
  if (probed.length === 0 || probed.some((p) => p !== port)) {
    problems.push(
      `${name}: the healthcheck must probe http://127.0.0.1:${port}/ready (${portVariable}), not [${probed.join(', ')}]`,
    );
  }
  return problems;
}

/**
 * PostgreSQL: postgres://user:${PASSWORD:?}@host:port/database, all as the postgres service says,
 * and the database the service's own (SERVICE_DATABASES), as every service owns one.
 */
function databaseProblems(file: ComposeFile, name: string, service: ComposeService): string[] {
  const problems: string[] = [];
  const url = envOf(service).get('DATABASE_URL') ?? '';
  const match = /^postgres(?:ql)?:\/\/([^:@/]+):(.*)@([^:@/]+)(?::(\d+))?\/(\w+)$/.exec(url);
  if (!match) return [`${name}: DATABASE_URL ${url} is not postgres://user:password@host:port/db`];
  const [, user, password, host = '', dbPort, database = ''] = match;
  if (database !== name) {
    problems.push(`${name}: DATABASE_URL names the database ${database}, not its own ${name}`);
  }
  const db = file.doc.services[host];
  if (db === undefined || kindOf(db) !== 'postgres') {
    return [...problems, `${name}: DATABASE_URL's host ${host} is no postgres service`];
  }
  const dbEnv = envOf(db);
  if (user !== (dbEnv.get('POSTGRES_USER') ?? 'postgres'))
    problems.push(`${name}: DATABASE_URL's user ${user} is not ${host}'s POSTGRES_USER`);
  if (password !== dbEnv.get('POSTGRES_PASSWORD') || !REQUIRED_VARIABLE.test(password ?? ''))
    problems.push(`${name}: DATABASE_URL's password is not ${host}'s required POSTGRES_PASSWORD`);
  if (Number(dbPort ?? 5432) !== postgresPort(db))
    problems.push(`${name}: DATABASE_URL's port ${dbPort} is not ${host}'s ${postgresPort(db)}`);
  if (!initDatabases(file, db).includes(database))
    problems.push(`${name}: no init script of ${host} creates the database ${database}`);
  if (!dependsOn(service, host, 'service_healthy'))
    problems.push(`${name}: must wait for ${host} to be healthy`);
  return problems;
}

function subgraphServiceProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const spec of SUBGRAPHS) {
    const { name } = spec;
    const service = file.doc.services[name];
    if (service === undefined) {
      problems.push(`no service ${name}`);
      continue;
    }
    problems.push(...appServiceProblems(file, name, service, spec));
    if ((service.ports ?? []).length > 0)
      problems.push(`${name}: publishes ports; only the gateway is reached from outside`);
    problems.push(...databaseProblems(file, name, service));
  }
  return problems;
}

/**
 * The image runs compiled JavaScript with production dependencies only: some stage runs
 * `npm run build`; the last stage installs with `--omit=dev` (or prunes to it), holds dist/ (its
 * own build, or copied from the stage that built it) and the supergraph, and starts the compiled
 * gateway with plain `node`.
 */
function dockerfileProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const dockerfiles = new Set(
    servicesOf(file, 'app').flatMap(([, service]) => dockerfileOf(file, service) ?? []),
  );
  for (const dockerfile of dockerfiles) {
    if (!fs.existsSync(dockerfile)) continue; // appServiceProblems says so
    const where = path.relative(file.dir, dockerfile);
    const stages = dockerStages(fs.readFileSync(dockerfile, 'utf8'));
    const runs = (stage: DockerStage, pattern: RegExp) =>
      stage.instructions.some((i) => i.instruction === 'RUN' && pattern.test(i.args));
    const build = /\bnpm run build\b/;
    const builders = stages.filter((stage) => runs(stage, build));
    const last = stages.at(-1);
    if (last === undefined) {
      problems.push(`${where}: no FROM`);
      continue;
    }
    if (builders.length === 0) problems.push(`${where}: no stage runs npm run build`);

    // Installs in the last stage: each must leave the devDependencies out, or a prune follow.
    const installs = last.instructions.flatMap((i, at) =>
      i.instruction !== 'RUN'
        ? []
        : i.args
            .split(/&&|;/)
            .map((command) => command.trim())
            .filter((command) => /^npm (ci|install|i)\b/.test(command))
            .map((command) => ({ command, at })),
    );
    const prunedAt = last.instructions.findIndex(
      (i) => i.instruction === 'RUN' && /\bnpm prune\b.*--omit[= ]dev/.test(i.args),
    );
    for (const { command, at } of installs) {
      if (!/--omit[= ]dev\b/.test(command) && !(prunedAt >= at)) {
        problems.push(`${where}: the image installs the devDependencies ("${command}")`);
      }
    }
    if (installs.length === 0) problems.push(`${where}: the image installs no dependencies`);

    const copies = last.instructions.filter((i) => i.instruction === 'COPY');
    const copiedDist = copies.some((i) => {
      const from = /--from=(\S+)/.exec(i.args)?.[1];
      const sources = i.args
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1);
      return (
        from !== undefined &&
        builders.some((stage) => stage.name === from) &&
        sources.some((s) => /(^|\/)dist\/?$/.test(s))
      );
    });
    if (!copiedDist && !runs(last, build)) {
      problems.push(`${where}: the image has no dist/ (copy it from the stage that builds it)`);
    }
    const supergraph = CONFIG_DEFAULTS.SUPERGRAPH_PATH;
    const copiesSupergraph = copies.some((i) => {
      const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      return (
        !/--from=/.test(i.args) && words.slice(0, -1).some((w) => w === supergraph || w === '.')
      );
    });
    if (!copiesSupergraph) {
      problems.push(`${where}: the image has no ${supergraph} (SUPERGRAPH_PATH's default)`);
    }

    const start = last.instructions.filter((i) => /^(CMD|ENTRYPOINT)$/.test(i.instruction));
    const command = start.flatMap((i) => instructionWords(i.args)).join(' ');
    const expected = nodeCommand(GATEWAY);
    if (command !== expected) {
      problems.push(`${where}: the image starts "${command}", not "${expected}"`);
    }
  }
  return problems;
}

/** Variables of sign-in and of the gateway's tokens: the notification service needs none. */
const IDENTITY_VARIABLE = /^(OIDC_|AUTHENTIK_)|SECRET|^PUBLIC_URL$/;

/**
 * Where the notification service's emails go: SMTP_URL (credentials from a variable), or, while
 * it is unset, `.eml` files in MAIL_DIR, which must outlive the container (a named volume) and
 * be writable by the image's user (a new volume takes the owner of the folder it is mounted on).
 */
function mailProblems(file: ComposeFile, name: string, service: ComposeService): string[] {
  const env = envOf(service);
  const smtpUrl = env.get('SMTP_URL') ?? '';
  if (/\/\/[^/@:]*:[^@]+@/.test(smtpUrl.replace(/\$\{[^}]*\}/g, ''))) {
    return [`${name}: SMTP_URL holds a password; take the URL from a variable, \${SMTP_URL:-}`];
  }
  if (interpolateDefaults(smtpUrl).trim() !== '') return [];

  const dockerfile = dockerfileOf(file, service);
  if (dockerfile === undefined || !fs.existsSync(dockerfile)) return []; // appServiceProblems says so
  const image = imageLayout(fs.readFileSync(dockerfile, 'utf8'));
  const dataDir = interpolateDefaults(env.get('DATA_DIR') ?? CONFIG_DEFAULTS.DATA_DIR);
  const mailDir = path.posix.resolve(
    image.workdir,
    interpolateDefaults(env.get('MAIL_DIR') ?? path.posix.join(dataDir, 'mail')),
  );
  const problems: string[] = [];
  const mount = mounts(service).find((m) => path.posix.resolve(m.target) === mailDir);
  if (mount?.type !== 'volume' || mount.source === undefined) {
    problems.push(
      `${name}: SMTP_URL is unset, so the emails are files in MAIL_DIR ${mailDir}: mount a named volume there`,
    );
  }
  const owner = image.owners.get(mailDir);
  if (owner !== image.user) {
    problems.push(
      `${name}: ${path.relative(file.dir, dockerfile)} does not create MAIL_DIR ${mailDir} for ${image.user} (mkdir -p, chown), so ${image.user} cannot write to a new volume there`,
    );
  }
  return problems;
}

function notificationServiceProblems(file: ComposeFile): string[] {
  const { name } = NOTIFICATIONS;
  const service = file.doc.services[name];
  if (service === undefined) return [`no service ${name}`];
  const problems = appServiceProblems(file, name, service, NOTIFICATIONS);
  if ((service.ports ?? []).length > 0)
    problems.push(`${name}: publishes ports; only the gateway is reached from outside`);
  for (const key of envOf(service).keys()) {
    if (key !== 'INTERNAL_TOKEN_SECRET' && IDENTITY_VARIABLE.test(key))
      problems.push(`${name}: gets ${key}, but needs no sign-in`);
  }
  problems.push(...databaseProblems(file, name, service));
  problems.push(...mailProblems(file, name, service));
  return problems;
}

function gatewayServiceProblems(file: ComposeFile): string[] {
  const service = file.doc.services['gateway'];
  if (service === undefined) return ['no service gateway'];
  const problems = appServiceProblems(file, 'gateway', service, GATEWAY);
  const env = envOf(service);
  // Optional: sessions in memory without it, but then one gateway alone can hold them.
  if (env.has('DATABASE_URL')) problems.push(...databaseProblems(file, 'gateway', service));

  const port = appPort(service, GATEWAY.portVariable);
  const published = (service.ports ?? []).map(parsePort).filter((p) => typeof p !== 'string');
  if (!published.some((p) => p.container === port && p.host === port)) {
    problems.push(`gateway: must publish ${port}:${port} (GATEWAY_PORT)`);
  }

  // Every subgraph routed to its service, on the port that service listens on, once healthy.
  const routes = new Map(
    (env.get('GATEWAY_SUBGRAPH_URLS') ?? '')
      .split(',')
      .filter((e) => e.trim() !== '')
      .map((e) => [e.slice(0, e.indexOf('=')).trim(), e.slice(e.indexOf('=') + 1).trim()]),
  );
  for (const { name, portVariable: variable } of SUBGRAPHS) {
    const target = file.doc.services[name];
    const expected = target && `http://${name}:${appPort(target, variable)}/graphql`;
    if (routes.get(name) !== expected) {
      problems.push(
        `gateway: GATEWAY_SUBGRAPH_URLS routes ${name} to ${routes.get(name)}, not ${expected}`,
      );
    }
    if (!dependsOn(service, name, 'service_healthy'))
      problems.push(`gateway: must wait for ${name} to be healthy`);
  }
  for (const name of routes.keys()) {
    if (!SUBGRAPHS.some((s) => s.name === name)) {
      const other = SERVICES.find((s) => s.name === name);
      const why = other ? ` (${name} is the ${other.kind}: it serves no GraphQL)` : '';
      problems.push(`gateway: GATEWAY_SUBGRAPH_URLS names no subgraph ${name}${why}`);
    }
  }

  for (const key of GATEWAY_REQUIRED) {
    if (!env.has(key)) problems.push(`gateway: ${key} is not set (production needs it)`);
  }
  for (const key of ['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET']) {
    if (!REQUIRED_VARIABLE.test(env.get(key) ?? ''))
      problems.push(`gateway: ${key} must come from a required variable, \${${key}:?message}`);
  }
  // The issuer (or its example in the message) is an Authentik server of this file.
  const issuer = /https?:\/\/([^:/\s]+):(\d+)\/application\/o\/[\w-]+\//.exec(
    env.get('OIDC_ISSUER') ?? '',
  );
  const idp = file.doc.services[issuer?.[1] ?? ''];
  if (
    issuer === null ||
    idp === undefined ||
    kindOf(idp) !== 'authentik' ||
    !listeningPorts(idp, file).includes(Number(issuer[2]))
  ) {
    problems.push(
      `gateway: OIDC_ISSUER must name an Authentik server of this file, http://<service>:<port>/application/o/<slug>/`,
    );
  }
  return problems;
}

/**
 * The environment of each application service passes config/index.ts as it would in the container:
 * defaults of `${NAME:-default}` substituted, a required variable left out when it is the whole
 * value and a stand-in inside one (a URL's password), variables taken from the host left out.
 */
function configProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of servicesOf(file, 'app')) {
    const env: Record<string, string> = {};
    for (const [key, value] of envOf(service)) {
      if (value === undefined || REQUIRED_VARIABLE.test(value)) continue;
      env[key] = interpolateDefaults(value)
        .replace(/\$\{\w+:?\?[^}]*\}/g, 'required')
        .replace(/\$\{\w+\}/g, '');
    }
    try {
      loadConfig(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => `${name}: ${problem}`));
    }
  }
  return problems;
}

function environmentValueProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.doc.services)) {
    if (!Array.isArray(service.environment)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        // The spec lets a boolean through (objects it does not), and compose passes it on as
        // True or true depending on the version: quote it, so the value is the one written.
        if (typeof value === 'boolean')
          problems.push(`${name}: ${key} must be a string or a number, not ${value}`);
      }
    }
    for (const [key, value] of envOf(service)) {
      if (/PASSWORD|SECRET/.test(key) && !REQUIRED_VARIABLE.test(value ?? '')) {
        problems.push(`${name}: ${key} must come from a required variable, \${NAME:?message}`);
      }
    }
  }
  return problems;
}

/** Every database named in the postgres init scripts mounted into /docker-entrypoint-initdb.d. */
function initDatabases(file: ComposeFile, service: ComposeService): string[] {
  const databases: string[] = [];
  for (const mount of mounts(service)) {
    if (mount.type !== 'bind' || mount.source === undefined) continue;
    if (!mount.target.replace(/\/$/, '').startsWith('/docker-entrypoint-initdb.d')) continue;
    const source = path.resolve(file.dir, mount.source);
    if (!fs.existsSync(source)) continue;
    const scripts = fs.statSync(source).isDirectory()
      ? fs.readdirSync(source).map((f) => path.join(source, f))
      : [source];
    for (const script of scripts.filter((s) => s.endsWith('.sql'))) {
      const sql = fs.readFileSync(script, 'utf8').replace(/--.*$/gm, '');
      for (const match of sql.matchAll(/\bCREATE\s+DATABASE\s+"?(\w+)"?/gi)) {
        if (match[1] !== undefined) databases.push(match[1]);
      }
    }
  }
  return databases;
}

function postgresProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const servers = servicesOf(file, 'postgres');
  if (servers.length === 0) problems.push('no service runs the postgres image');
  for (const [name, service] of servers) {
    const created = initDatabases(file, service);
    for (const db of SERVICE_DATABASES) {
      if (!created.includes(db))
        problems.push(`${name}: no init script creates the database ${db}`);
    }
    const env = envOf(service);
    const defaultDb = env.get('POSTGRES_DB') ?? env.get('POSTGRES_USER') ?? 'postgres';
    if (created.includes(defaultDb)) {
      problems.push(`${name}: the image creates ${defaultDb} itself; the init script would fail`);
    }
  }
  return problems;
}

function authentikProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const authentiks = servicesOf(file, 'authentik');
  if (authentiks.length === 0) problems.push('no service runs the goauthentik/server image');
  for (const [name, service] of authentiks) {
    const env = envOf(service);
    const hostName = env.get('AUTHENTIK_POSTGRESQL__HOST') ?? '';
    const db = file.doc.services[hostName];
    if (db === undefined || kindOf(db) !== 'postgres') {
      problems.push(`${name}: AUTHENTIK_POSTGRESQL__HOST ${hostName} is no postgres service`);
      continue;
    }
    const dbEnv = envOf(db);
    const expected: [string, string | undefined][] = [
      ['AUTHENTIK_POSTGRESQL__PORT', String(postgresPort(db))],
      ['AUTHENTIK_POSTGRESQL__USER', dbEnv.get('POSTGRES_USER') ?? 'postgres'],
      ['AUTHENTIK_POSTGRESQL__PASSWORD', dbEnv.get('POSTGRES_PASSWORD')],
    ];
    for (const [key, value] of expected) {
      if (key.endsWith('PORT') && !env.has(key)) continue; // 5432 is authentik's default too
      if (env.get(key) !== value)
        problems.push(`${name}: ${key} ${env.get(key)} is not ${hostName}'s ${value}`);
    }
    const dbName = env.get('AUTHENTIK_POSTGRESQL__NAME') ?? 'authentik';
    if (!initDatabases(file, db).includes(dbName)) {
      problems.push(`${name}: no init script of ${hostName} creates the database ${dbName}`);
    }
    const dependsOnDb = dependencies(service).some(([dep]) => dep === hostName);
    if (!dependsOnDb) problems.push(`${name}: must depend on ${hostName}`);
  }
  return problems;
}

function portProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  const hostPorts = new Map<number, string>();
  for (const [name, service] of Object.entries(file.doc.services)) {
    const listening = listeningPorts(service, file);
    for (const entry of service.ports ?? []) {
      const mapping = parsePort(entry);
      if (typeof mapping === 'string') {
        problems.push(`${name}: ${mapping}`);
        continue;
      }
      if (!listening.includes(mapping.container)) {
        problems.push(
          `${name}: publishes container port ${mapping.container}, but listens on [${listening.join(', ')}]`,
        );
      }
      if (mapping.host !== undefined) {
        const other = hostPorts.get(mapping.host);
        if (other !== undefined)
          problems.push(`${name}: host port ${mapping.host} is published by ${other} too`);
        hostPorts.set(mapping.host, name);
      }
    }
  }

  for (const [name, service] of servicesOf(file, 'kafka')) {
    const env = envOf(service);
    const listeners = parseListeners(env.get('KAFKA_LISTENERS'));
    const portOf = (listener: string) => listeners.find((l) => l.name === listener)?.port;
    const protocols = new Set(
      (env.get('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP') ?? '')
        .split(',')
        .map((p) => p.split(':')[0]),
    );
    const controllerNames = (env.get('KAFKA_CONTROLLER_LISTENER_NAMES') ?? '').split(',');
    const ownNames = new Set([name, service.hostname, 'localhost', '127.0.0.1']);
    for (const l of listeners) {
      if (!Number.isInteger(l.port)) problems.push(`${name}: cannot read the listener ${l.name}`);
      if (!protocols.has(l.name))
        problems.push(`${name}: listener ${l.name} has no security protocol`);
    }
    for (const controller of controllerNames) {
      if (portOf(controller) === undefined)
        problems.push(`${name}: controller listener ${controller} is not in KAFKA_LISTENERS`);
    }
    const interBroker = env.get('KAFKA_INTER_BROKER_LISTENER_NAME') ?? '';
    if (portOf(interBroker) === undefined || controllerNames.includes(interBroker)) {
      problems.push(
        `${name}: KAFKA_INTER_BROKER_LISTENER_NAME ${interBroker} is not a broker listener`,
      );
    }
    for (const voter of (env.get('KAFKA_CONTROLLER_QUORUM_VOTERS') ?? '').split(',')) {
      const match = /^\d+@([^:]+):(\d+)$/.exec(voter.trim());
      const port = Number(match?.[2]);
      if (!ownNames.has(match?.[1]) || !controllerNames.some((c) => portOf(c) === port)) {
        problems.push(`${name}: quorum voter ${voter} is not this node's controller listener`);
      }
    }

    const published = (service.ports ?? []).map(parsePort).filter((p) => typeof p !== 'string');
    const advertised = parseListeners(env.get('KAFKA_ADVERTISED_LISTENERS'));
    const advertisedNames = new Set(advertised.map((a) => a.name));
    for (const l of listeners) {
      if (!controllerNames.includes(l.name) && !advertisedNames.has(l.name)) {
        problems.push(`${name}: listener ${l.name} is not advertised`);
      }
    }
    for (const a of advertised) {
      const port = portOf(a.name);
      if (port === undefined || controllerNames.includes(a.name)) {
        problems.push(`${name}: advertised listener ${a.name} is not a broker listener`);
      } else if (a.host === 'localhost' || a.host === '127.0.0.1') {
        // Reached from the host: the advertised port must be published onto the listener.
        if (!published.some((p) => p.host === a.port && p.container === port)) {
          problems.push(
            `${name}: advertises ${a.host}:${a.port}, but does not publish ${a.port}:${port}`,
          );
        }
        if (a.port !== CONFIG_DEFAULTS.LOCAL_KAFKA_PORT) {
          problems.push(
            `${name}: advertises ${a.host}:${a.port}, not LOCAL_KAFKA_PORT's default ${CONFIG_DEFAULTS.LOCAL_KAFKA_PORT}`,
          );
        }
      } else if (!ownNames.has(a.host) || a.port !== port) {
        problems.push(
          `${name}: advertises ${a.host}:${a.port}; other containers reach it at ${name}:${port}`,
        );
      }
    }
    const bootstrap = optionValue(healthcheckWords(service), '--bootstrap-server');
    const bootstrapPort = Number(/:(\d+)$/.exec(bootstrap ?? '')?.[1]);
    if (!listeners.some((l) => l.port === bootstrapPort && !controllerNames.includes(l.name))) {
      problems.push(
        `${name}: the healthcheck's --bootstrap-server ${bootstrap} is no broker listener`,
      );
    }
  }

  for (const [name, service] of servicesOf(file, 'postgres')) {
    const words = healthcheckWords(service);
    const port = optionValue(words, '--port', '-p');
    if (port !== undefined && Number(port) !== postgresPort(service)) {
      problems.push(
        `${name}: the healthcheck probes port ${port}, but postgres listens on ${postgresPort(service)}`,
      );
    }
    const user = optionValue(words, '--username', '-U');
    const env = envOf(service);
    if (user !== undefined && user !== (env.get('POSTGRES_USER') ?? 'postgres')) {
      problems.push(`${name}: the healthcheck connects as ${user}, not POSTGRES_USER`);
    }
  }
  return problems;
}

function dependsOnProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.doc.services)) {
    for (const [dep, condition] of dependencies(service)) {
      const target = file.doc.services[dep];
      if (target === undefined) {
        problems.push(`${name}: depends_on ${dep}, which is not a service`);
      } else if (dep === name) {
        problems.push(`${name}: depends on itself`);
      } else if (
        condition === 'service_healthy' &&
        (target.healthcheck?.test === undefined || target.healthcheck.disable)
      ) {
        problems.push(`${name}: waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
    }
  }
  return problems;
}

function volumeProblems(file: ComposeFile): string[] {
  const declared = new Set(Object.keys(file.doc.volumes ?? {}));
  const used = new Set<string>();
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.doc.services)) {
    for (const mount of mounts(service)) {
      if (mount.source === undefined) continue;
      if (mount.type === 'volume') {
        used.add(mount.source);
        if (!declared.has(mount.source))
          problems.push(`${name}: volume ${mount.source} is not declared`);
      } else if (mount.type === 'bind' && /^\.\.?\//.test(mount.source)) {
        if (!fs.existsSync(path.resolve(file.dir, mount.source))) {
          problems.push(`${name}: bind mount ${mount.source} does not exist`);
        }
      }
    }
  }
  for (const volume of declared) {
    if (!used.has(volume)) problems.push(`volume ${volume} is declared but not used`);
  }
  return problems;
}

/** Every service on the application image is a process of config/services.ts. */
function serviceListProblems(file: ComposeFile): string[] {
  return servicesOf(file, 'app')
    .filter(([name]) => !SERVICES.some((s) => s.name === name))
    .map(([name]) => `${name}: runs the application image, but config/services.ts has no ${name}`);
}

function fileProblems(file: ComposeFile): string[] {
  return 'version' in file.doc ? ['the compose spec has no `version:` key; remove it'] : [];
}

// ---------------------------------------------------------------------------------------------
// The monitoring stack: Prometheus, Grafana and the OpenTelemetry Collector, and their files in
// deploy/. Their configuration files are read with a schema of the part the checks look at, so
// a file of another shape is refused rather than half read.

/** A file of the repository, relative to it, for messages. */
const repoPath = (file: ComposeFile, full: string) => path.relative(file.dir, full);

/** `text` as YAML or JSON, checked by `schema`; or why not. */
function parseWith<T>(
  schema: z.ZodType<T>,
  text: string,
  parse: (text: string) => unknown,
): { value: T } | { problem: string } {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    return { problem: `does not parse: ${(error as Error).message.split('\n')[0]}` };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { value: parsed.data };
  return {
    problem: parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`)
      .join('; '),
  };
}

/** Every image not built here has a version: a tag other than `latest`, or a digest. */
function imagePinProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.doc.services)) {
    if (service.build !== undefined || service.image === undefined) continue;
    const image = interpolateDefaults(service.image);
    const tag = imageTag(image);
    if (!image.includes('@') && (tag === undefined || tag === 'latest'))
      problems.push(`${name}: image ${service.image} is not pinned to a version`);
  }
  return problems;
}

function prometheusPort(service: ComposeService): number {
  const address = optionValue(commandWords(service.command), '--web.listen-address');
  return (address === undefined ? undefined : portOf(address)) ?? 9090;
}

const prometheusConfigSchema = z.object({
  scrape_configs: z.array(
    z.object({
      job_name: z.string(),
      metrics_path: z.string().default('/metrics'),
      static_configs: z.array(z.object({ targets: z.array(z.string()) })).default([]),
      dns_sd_configs: z
        .array(
          z.object({
            names: z.array(z.string()),
            type: z.enum(['A', 'AAAA', 'SRV', 'MX', 'NS']).default('SRV'),
            port: z.number().int().optional(),
          }),
        )
        .default([]),
    }),
  ),
});

interface ScrapeTarget {
  job: string;
  host: string;
  port: number | undefined;
  path: string;
}

/** The targets of a Prometheus configuration: static ones and those found through DNS. */
function scrapeTargets(config: z.output<typeof prometheusConfigSchema>): ScrapeTarget[] {
  return config.scrape_configs.flatMap((job) => [
    ...job.static_configs.flatMap((c) =>
      c.targets.map((target) => ({
        job: job.job_name,
        host: target.replace(/:\d+$/, ''),
        port: portOf(target),
        path: job.metrics_path,
      })),
    ),
    ...job.dns_sd_configs.flatMap((c) =>
      c.names.map((host) => ({
        job: job.job_name,
        host,
        port: c.type === 'SRV' ? undefined : c.port,
        path: job.metrics_path,
      })),
    ),
  ]);
}

/** The mounted file `containerPath` of `service`, read; or why it cannot be. */
function mountedFile(
  file: ComposeFile,
  name: string,
  service: ComposeService,
  containerPath: string,
): { full: string; text: string } | { problem: string } {
  const full = hostPathOf(file, service, containerPath);
  if (full === undefined || !fs.existsSync(full) || !fs.statSync(full).isFile()) {
    return {
      problem: `${name}: ${containerPath} is not mounted from a file of the repository${full === undefined ? '' : ` (${repoPath(file, full)} does not exist)`}`,
    };
  }
  return { full, text: fs.readFileSync(full, 'utf8') };
}

/**
 * Prometheus scrapes `/metrics` of every process of the platform (config/services.ts) on the port
 * it listens on, and nothing this file does not run.
 */
function prometheusProblems(file: ComposeFile): string[] {
  const servers = servicesOf(file, 'prometheus');
  if (servers.length === 0) return ['no service runs the prom/prometheus image'];
  const problems: string[] = [];
  for (const [name, service] of servers) {
    const configPath =
      optionValue(commandWords(service.command), '--config.file') ??
      '/etc/prometheus/prometheus.yml';
    const mounted = mountedFile(file, name, service, configPath);
    if ('problem' in mounted) {
      problems.push(mounted.problem);
      continue;
    }
    const where = repoPath(file, mounted.full);
    const parsed = parseWith(prometheusConfigSchema, mounted.text, parseYaml);
    if ('problem' in parsed) {
      problems.push(`${name}: ${where} ${parsed.problem}`);
      continue;
    }
    const targets = scrapeTargets(parsed.value);
    for (const [app, appService] of servicesOf(file, 'app')) {
      const spec = SERVICES.find((s) => s.name === app);
      if (spec === undefined) continue; // serviceListProblems says so
      const port = appPort(appService, spec.portVariable);
      if (!targets.some((t) => t.host === app && t.port === port && t.path === '/metrics'))
        problems.push(`${name}: scrapes no ${app}:${port}/metrics (${where})`);
    }
    for (const target of targets) {
      const scraped = `${target.host}:${target.port ?? '?'}${target.path}`;
      const other = file.doc.services[target.host];
      if (other === undefined) {
        problems.push(
          `${name}: job ${target.job} scrapes ${scraped}, but docker-compose.yml has no service ${target.host}`,
        );
      } else if (kindOf(other) === 'app') {
        const spec = SERVICES.find((s) => s.name === target.host);
        const port = spec && appPort(other, spec.portVariable);
        if (target.port !== port || target.path !== '/metrics')
          problems.push(
            `${name}: job ${target.job} scrapes ${scraped}; ${target.host} serves ${target.host}:${port}/metrics`,
          );
      }
    }
  }
  return problems;
}

const datasourcesSchema = z.object({
  datasources: z
    .array(
      z.object({
        name: z.string(),
        type: z.string(),
        uid: z.string().optional(),
        url: z.string().optional(),
      }),
    )
    .default([]),
});

const dashboardProvidersSchema = z.object({
  providers: z
    .array(
      z.object({
        name: z.string(),
        type: z.string().default('file'),
        options: z.object({ path: z.string() }),
      }),
    )
    .default([]),
});

const dashboardSchema = z.object({
  uid: z.string().optional(),
  title: z.string(),
  panels: z.array(z.unknown()).default([]),
});

/** The YAML files of a provisioning folder (`datasources/`, `dashboards/`). */
function provisioningFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(dir, f));
}

/** A datasource reference of a panel or query, for messages. */
const describeDatasource = (ds: unknown) => (ds === undefined ? 'none' : JSON.stringify(ds));

/**
 * Grafana: its provisioning folder is the repository's; it provisions a Prometheus datasource of
 * this file, with a uid; its dashboard providers read folders mounted from the repository; every
 * dashboard there parses, every panel and query names the provisioned datasource, and every metric
 * they query is in deploy/metric-names.ts (and every metric there is shown).
 */
function grafanaProblems(file: ComposeFile): string[] {
  const servers = servicesOf(file, 'grafana');
  if (servers.length === 0) return ['no service runs the grafana/grafana image'];
  const problems: string[] = [];
  for (const [name, service] of servers) {
    const env = envOf(service);
    for (const mount of mounts(service)) {
      if (mount.type === 'bind' && mount.source !== undefined) {
        if (!fs.existsSync(path.resolve(file.dir, mount.source)))
          problems.push(`${name}: mounts ${mount.source}, which is not in the repository`);
      }
    }
    const provisioning = env.get('GF_PATHS_PROVISIONING') ?? '/etc/grafana/provisioning';
    const provisioningDir = hostPathOf(file, service, provisioning);
    if (provisioningDir === undefined || !fs.existsSync(provisioningDir)) {
      problems.push(`${name}: ${provisioning} is not mounted from a folder of the repository`);
      continue;
    }

    // The datasources: Prometheus services of this file, by uid.
    const uids = new Set<string>();
    for (const full of provisioningFiles(path.join(provisioningDir, 'datasources'))) {
      const where = repoPath(file, full);
      const parsed = parseWith(datasourcesSchema, fs.readFileSync(full, 'utf8'), parseYaml);
      if ('problem' in parsed) {
        problems.push(`${name}: ${where} ${parsed.problem}`);
        continue;
      }
      for (const ds of parsed.value.datasources.filter((d) => d.type === 'prometheus')) {
        const url = /^http:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(ds.url ?? '');
        const target = file.doc.services[url?.[1] ?? ''];
        if (
          url === null ||
          target === undefined ||
          kindOf(target) !== 'prometheus' ||
          Number(url[2] ?? 80) !== prometheusPort(target)
        ) {
          const expected = servicesOf(file, 'prometheus')
            .map(([p, s]) => `http://${p}:${prometheusPort(s)}`)
            .join(' or ');
          problems.push(
            `${name}: datasource ${ds.name} points at ${ds.url}, not the Prometheus of this file (${expected || 'none'})`,
          );
        }
        if (ds.uid === undefined)
          problems.push(`${name}: datasource ${ds.name} has no uid, so dashboards cannot name it`);
        else uids.add(ds.uid);
      }
    }
    if (uids.size === 0)
      problems.push(`${name}: ${provisioning}/datasources provisions no Prometheus datasource`);

    // The dashboards: where the providers read them, mounted from the repository.
    const dashboards: string[] = [];
    for (const full of provisioningFiles(path.join(provisioningDir, 'dashboards'))) {
      const where = repoPath(file, full);
      const parsed = parseWith(dashboardProvidersSchema, fs.readFileSync(full, 'utf8'), parseYaml);
      if ('problem' in parsed) {
        problems.push(`${name}: ${where} ${parsed.problem}`);
        continue;
      }
      for (const provider of parsed.value.providers) {
        const dir = hostPathOf(file, service, provider.options.path);
        const files =
          dir !== undefined && fs.existsSync(dir) && fs.statSync(dir).isDirectory()
            ? fs.readdirSync(dir).filter((f) => f.endsWith('.json'))
            : [];
        if (files.length === 0) {
          problems.push(
            `${name}: dashboard provider ${provider.name} reads ${provider.options.path}, where no folder of the repository with dashboards is mounted`,
          );
        }
        dashboards.push(...files.map((f) => path.join(dir ?? '', f)));
      }
    }
    if (dashboards.length === 0) problems.push(`${name}: provisions no dashboard`);
    const home = env.get('GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH');
    if (home !== undefined) {
      const full = hostPathOf(file, service, home);
      if (full === undefined || !dashboards.includes(full))
        problems.push(
          `${name}: GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ${home} is no provisioned dashboard`,
        );
    }

    const shown = new Set<string>();
    for (const full of dashboards) {
      const where = repoPath(file, full);
      const parsed = parseWith(dashboardSchema, fs.readFileSync(full, 'utf8'), JSON.parse);
      if ('problem' in parsed) {
        problems.push(`${where} ${parsed.problem}`);
        continue;
      }
      for (const panel of dashboardPanels(parsed.value as Parameters<typeof dashboardPanels>[0])) {
        if (panel.type === 'row' && (panel.targets ?? []).length === 0) continue;
        const title = `panel "${panel.title ?? panel.id}"`;
        const named = (ds: unknown) =>
          typeof ds === 'object' && ds !== null && uids.has(String((ds as { uid?: unknown }).uid));
        if (!named(panel.datasource))
          problems.push(
            `${where}: ${title} uses datasource ${describeDatasource(panel.datasource)}, not the provisioned ${[...uids].join(', ')}`,
          );
        const targets = panel.targets ?? [];
        if (targets.length === 0) problems.push(`${where}: ${title} has no query`);
        for (const target of targets) {
          if (target.datasource !== undefined && !named(target.datasource))
            problems.push(
              `${where}: ${title}, query ${target.refId}, uses datasource ${describeDatasource(target.datasource)}, not the provisioned ${[...uids].join(', ')}`,
            );
          const names = promqlMetricNames(target.expr ?? '');
          // Labels of what the query selects, Prometheus's own, and a histogram's buckets'.
          const labels = new Set(['job', 'instance']);
          for (const metric of names.map((n) => metricOfSeries(n))) {
            for (const label of metric?.labels ?? []) labels.add(label);
            if (metric?.type === 'histogram') labels.add('le');
          }
          for (const label of promqlLabelNames(target.expr ?? '').filter((l) => !labels.has(l)))
            problems.push(
              `${where}: ${title} uses the label ${label}, not one of ${names.join(', ')}'s (deploy/metric-names.ts)`,
            );
          if (names.length === 0)
            problems.push(`${where}: ${title}, query ${target.refId}, selects no metric`);
          for (const series of names) {
            const metric = metricOfSeries(series);
            if (metric === undefined)
              problems.push(
                `${where}: ${title} queries ${series}, which is not in deploy/metric-names.ts`,
              );
            else shown.add(metric.name);
          }
        }
      }
    }
    if (dashboards.length > 0) {
      for (const metric of METRIC_NAMES.filter((m) => !shown.has(m.name)))
        problems.push(`${name}: no dashboard shows ${metric.name} (deploy/metric-names.ts)`);
    }
  }
  return problems;
}

const pipelineSchema = z.object({
  receivers: z.array(z.string()).min(1),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1),
});

const collectorConfigSchema = z.object({
  receivers: z.record(z.string(), z.unknown()),
  processors: z.record(z.string(), z.unknown()).default({}),
  exporters: z.record(z.string(), z.unknown()),
  extensions: z.record(z.string(), z.unknown()).default({}),
  service: z.object({
    pipelines: z.record(z.string(), pipelineSchema),
    extensions: z.array(z.string()).default([]),
  }),
});
type CollectorConfig = z.output<typeof collectorConfigSchema>;

const otlpProtocolsSchema = z.object({
  protocols: z.object({
    grpc: z.object({ endpoint: z.string().optional() }).nullish(),
    http: z.object({ endpoint: z.string().optional() }).nullish(),
  }),
});

/** The collector's configuration file, mounted where its `--config` says, read and checked. */
function readCollectorConfig(
  file: ComposeFile,
  service: ComposeService,
  name = 'otel-collector',
): { config?: CollectorConfig; where?: string; problem?: string } {
  const configPath =
    optionValue(commandWords(service.command), '--config') ?? '/etc/otelcol-contrib/config.yaml';
  const mounted = mountedFile(file, name, service, configPath);
  if ('problem' in mounted) return { problem: mounted.problem };
  const where = repoPath(file, mounted.full);
  const parsed = parseWith(collectorConfigSchema, mounted.text, parseYaml);
  if ('problem' in parsed) return { where, problem: `${name}: ${where} ${parsed.problem}` };
  return { config: parsed.value, where };
}

interface OtlpReceiver {
  receiver: string;
  protocol: 'grpc' | 'http';
  endpoint: string;
  port: number | undefined;
}

/** The OTLP receivers' endpoints (the collector's defaults: localhost:4317 and localhost:4318). */
function otlpReceivers(config: CollectorConfig | undefined): OtlpReceiver[] {
  return Object.entries(config?.receivers ?? {})
    .filter(([receiver]) => receiver === 'otlp' || receiver.startsWith('otlp/'))
    .flatMap(([receiver, settings]) => {
      const parsed = otlpProtocolsSchema.safeParse(settings);
      if (!parsed.success) return [];
      const { grpc, http } = parsed.data.protocols;
      const found: OtlpReceiver[] = [];
      if (grpc !== undefined) {
        const endpoint = grpc?.endpoint ?? 'localhost:4317';
        found.push({ receiver, protocol: 'grpc', endpoint, port: portOf(endpoint) });
      }
      if (http !== undefined) {
        const endpoint = http?.endpoint ?? 'localhost:4318';
        found.push({ receiver, protocol: 'http', endpoint, port: portOf(endpoint) });
      }
      return found;
    });
}

/**
 * The collector: its configuration parses, its pipelines use only what it defines, it has a
 * debug exporter, its OTLP receivers listen beyond the container, and the services'
 * OTEL_EXPORTER_OTLP_ENDPOINT is its OTLP/HTTP receiver.
 */
function collectorProblems(file: ComposeFile): string[] {
  const collectors = servicesOf(file, 'otel-collector');
  if (collectors.length === 0) return ['no service runs the otel/opentelemetry-collector image'];
  const problems: string[] = [];
  const endpoints: string[] = [];
  for (const [name, service] of collectors) {
    const { config, where, problem } = readCollectorConfig(file, service, name);
    if (config === undefined) {
      problems.push(problem ?? `${name}: no configuration`);
      continue;
    }
    for (const [pipeline, parts] of Object.entries(config.service.pipelines)) {
      const sections = [
        ['receiver', parts.receivers, config.receivers],
        ['processor', parts.processors, config.processors],
        ['exporter', parts.exporters, config.exporters],
      ] as const;
      for (const [kind, used, defined] of sections) {
        for (const part of used.filter((p) => !(p in defined)))
          problems.push(
            `${name}: ${where}: pipeline ${pipeline} uses the ${kind} ${part}, which is not defined`,
          );
      }
    }
    if (!Object.keys(config.exporters).some((e) => e === 'debug' || e.startsWith('debug/')))
      problems.push(`${name}: ${where}: no debug exporter`);
    const receivers = otlpReceivers(config);
    for (const r of receivers) {
      if (!/^(0\.0\.0\.0|\[::\]|)?:\d+$/.test(r.endpoint))
        problems.push(
          `${name}: ${where}: the ${r.receiver} receiver's ${r.protocol} endpoint ${r.endpoint} is not reachable from other containers (0.0.0.0:${r.port ?? 'port'})`,
        );
    }
    const http = receivers.filter((r) => r.protocol === 'http' && r.port !== undefined);
    if (http.length === 0) problems.push(`${name}: ${where}: no OTLP receiver over HTTP`);
    endpoints.push(...http.map((r) => `http://${name}:${r.port}`));
  }
  if (endpoints.length === 0) return problems;
  for (const [app, service] of servicesOf(file, 'app')) {
    const value = envOf(service).get('OTEL_EXPORTER_OTLP_ENDPOINT');
    if (!endpoints.includes(value?.replace(/\/$/, '') ?? ''))
      problems.push(
        `${app}: OTEL_EXPORTER_OTLP_ENDPOINT ${value} is not the collector's OTLP/HTTP receiver ${endpoints.join(' or ')}`,
      );
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

const CHECKS = {
  kafkaProblems,
  topicProblems,
  appEnvironmentProblems,
  subgraphServiceProblems,
  notificationServiceProblems,
  gatewayServiceProblems,
  configProblems,
  environmentValueProblems,
  postgresProblems,
  authentikProblems,
  portProblems,
  dependsOnProblems,
  volumeProblems,
  serviceListProblems,
  fileProblems,
  dockerfileProblems,
  imagePinProblems,
  prometheusProblems,
  grafanaProblems,
  collectorProblems,
} satisfies Record<string, (file: ComposeFile) => string[]>;

describe('docker-compose.yml', () => {
  const text = fs.readFileSync(COMPOSE_PATH, 'utf8');

  it('follows the compose specification', () => {
    expect(composeSchemaProblems(parseComposeYaml(text))).toEqual([]);
  });

  let compose: ComposeFile;
  beforeAll(() => {
    // Throws with the schema's findings, if any, failing each test below with them.
    compose = load(text);
  });

  it.each(Object.entries(CHECKS))('has no %s', (_name, check) => {
    expect(check(compose)).toEqual([]);
  });

  it('runs the Kafka version of scripts/kafka/pom.xml', () => {
    expect(pomProblems(compose, fs.readFileSync(POM_PATH, 'utf8'))).toEqual([]);
  });

  it('runs the infrastructure: Kafka, PostgreSQL, Authentik server and worker, monitoring', () => {
    const kinds = Object.values(compose.doc.services).map(kindOf);
    expect(kinds.filter((k) => k !== 'app').sort()).toEqual([
      'authentik',
      'authentik',
      'grafana',
      'kafka',
      'otel-collector',
      'postgres',
      'prometheus',
    ]);
  });
});

describe('the docker-compose.yml checks', () => {
  const text = fs.readFileSync(COMPOSE_PATH, 'utf8');

  /** The real file with `from` (which must occur in it) replaced by `to`. */
  function broken(from: string | RegExp, to: string): ComposeFile {
    expect(text).toMatch(from);
    return load(text.replace(from, to));
  }

  /** The real file with an application service added. */
  function withApp(service: ComposeService): ComposeFile {
    const file = load(text);
    file.doc.services['gateway'] = { build: '.', ...service };
    return file;
  }

  /** The real file with its parsed services changed by `edit`. */
  function edited(edit: (services: Record<string, ComposeService>) => void): ComposeFile {
    const file = load(text);
    edit(file.doc.services);
    return file;
  }

  const users =
    'postgres://postgres:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/users';

  const cases: [string, () => ComposeFile, (file: ComposeFile) => string[], string][] = [
    [
      'another Kafka tag',
      () => broken('apache/kafka:4.4.0', 'apache/kafka:4.3.0'),
      kafkaProblems,
      'image tag 4.3.0',
    ],
    [
      'another partition count',
      () => broken('KAFKA_NUM_PARTITIONS: 3', 'KAFKA_NUM_PARTITIONS: 6'),
      kafkaProblems,
      'KAFKA_NUM_PARTITIONS 6',
    ],
    [
      'auto topic creation',
      () =>
        broken(
          "KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false'",
          "KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true'",
        ),
      kafkaProblems,
      'KAFKA_AUTO_CREATE_TOPICS_ENABLE',
    ],
    [
      'a broker-only node',
      () => broken('KAFKA_PROCESS_ROLES: broker,controller', 'KAFKA_PROCESS_ROLES: broker'),
      kafkaProblems,
      'KAFKA_PROCESS_ROLES',
    ],
    [
      'ZooKeeper',
      () => broken('KAFKA_NODE_ID: 1', 'KAFKA_NODE_ID: 1\n      KAFKA_ZOOKEEPER_CONNECT: zk:2181'),
      kafkaProblems,
      'ZooKeeper',
    ],
    [
      'an unknown topic',
      () => broken('system-events', 'audit-events'),
      topicProblems,
      'audit-events',
    ],
    [
      'an app variable outside CONFIG_VARIABLES',
      () => withApp({ environment: { KAFKA_BROKERS: 'kafka:19092', GATEWAY_LISTEN_PORT: '4000' } }),
      appEnvironmentProblems,
      'GATEWAY_LISTEN_PORT',
    ],
    [
      'an app variable in list form',
      () => withApp({ environment: ['LOG_LEVEL=debug', 'DEBUG'] }),
      appEnvironmentProblems,
      'DEBUG is not',
    ],
    [
      'a missing app env_file',
      () => withApp({ env_file: 'deploy/no-such.env' }),
      appEnvironmentProblems,
      'no-such.env',
    ],
    [
      'a boolean variable',
      () =>
        broken(
          "KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false'",
          'KAFKA_AUTO_CREATE_TOPICS_ENABLE: false',
        ),
      environmentValueProblems,
      'not false',
    ],
    [
      'a literal password',
      () =>
        broken(
          'POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}',
          'POSTGRES_PASSWORD: secret',
        ),
      environmentValueProblems,
      'POSTGRES_PASSWORD must',
    ],
    [
      'a database not created',
      () => broken('./deploy/postgres/init:', './deploy/postgres:'),
      postgresProblems,
      'database users',
    ],
    [
      'authentik on another host',
      () => broken('AUTHENTIK_POSTGRESQL__HOST: postgres', 'AUTHENTIK_POSTGRESQL__HOST: db'),
      authentikProblems,
      'db is no postgres service',
    ],
    [
      'authentik as another user',
      () => broken('AUTHENTIK_POSTGRESQL__USER: postgres', 'AUTHENTIK_POSTGRESQL__USER: authentik'),
      authentikProblems,
      'AUTHENTIK_POSTGRESQL__USER',
    ],
    [
      'authentik in a missing database',
      () => broken('AUTHENTIK_POSTGRESQL__NAME: authentik', 'AUTHENTIK_POSTGRESQL__NAME: idp'),
      authentikProblems,
      'database idp',
    ],
    [
      'a published port nothing listens on',
      () => broken("'5432:5432'", "'5432:5433'"),
      portProblems,
      'container port 5433',
    ],
    [
      'a host port published twice',
      () => broken("'5432:5432'", "'9000:5432'"),
      portProblems,
      'host port 9000',
    ],
    [
      'an advertised port not published',
      () => broken("'9092:9092'", "'9094:9092'"),
      portProblems,
      'does not publish 9092:9092',
    ],
    [
      'an internal listener on another port',
      () => broken('INTERNAL://kafka:19092', 'INTERNAL://kafka:29092'),
      portProblems,
      'advertises kafka:29092',
    ],
    [
      'a quorum voter on another port',
      () => broken('1@kafka:9093', '1@kafka:9094'),
      portProblems,
      'quorum voter',
    ],
    [
      'a healthcheck on another port',
      () => broken('- localhost:9092', '- localhost:9095'),
      portProblems,
      '--bootstrap-server',
    ],
    [
      'a listener without protocol',
      () => broken('EXTERNAL:PLAINTEXT,', ''),
      portProblems,
      'EXTERNAL has no security protocol',
    ],
    [
      'a pg_isready on another port',
      () => broken('--port=5432', '--port=5433'),
      portProblems,
      'probes port 5433',
    ],
    [
      'an app port its configuration does not name',
      () => withApp({ ports: ['4000:4000'], environment: { LOG_LEVEL: 'info' } }),
      portProblems,
      'gateway: publishes container port 4000',
    ],
    [
      'depends_on an unknown service',
      () => broken(/ {4}postgres:\n {6}condition/, '    db:\n      condition'),
      dependsOnProblems,
      'depends_on db',
    ],
    [
      'depends_on healthy without healthcheck',
      () => broken(/ {4}postgres:\n {6}condition/, '    authentik-worker:\n      condition'),
      dependsOnProblems,
      'authentik-worker has no healthcheck',
    ],
    [
      'an undeclared volume',
      () => broken('- kafka-data:/var', '- kafka-logs:/var'),
      volumeProblems,
      'kafka-logs is not declared',
    ],
    [
      'an unused volume',
      () => broken('authentik-certs:\n', 'authentik-certs:\n  spare:\n'),
      volumeProblems,
      'spare is declared',
    ],
    [
      'a missing bind mount',
      () => broken('./deploy/postgres/init:', './deploy/pg/init:'),
      volumeProblems,
      './deploy/pg/init',
    ],
    [
      'a missing subgraph service',
      () => edited((services) => delete services['users']),
      subgraphServiceProblems,
      'no service users',
    ],
    [
      'a subgraph on a third-party image',
      () => edited((services) => Object.assign(services['users'] ?? {}, { image: 'postgres:17' })),
      subgraphServiceProblems,
      'users: must run the application image',
    ],
    [
      'an app service without build',
      () => edited((services) => delete services['users']?.build),
      subgraphServiceProblems,
      'users: must build',
    ],
    [
      'a build context without Dockerfile',
      () => broken('build: .', 'build: ./deploy'),
      subgraphServiceProblems,
      'deploy/Dockerfile does not exist',
    ],
    [
      'another entry point',
      () => broken("'dist/subgraphs/users/main.js'", "'dist/subgraphs/users/server.js'"),
      subgraphServiceProblems,
      'users: command "node dist/subgraphs/users/server.js" is not "node dist/subgraphs/users/main.js"',
    ],
    [
      'an entry point run from its source under tsx',
      () =>
        broken(
          "['node', 'dist/subgraphs/users/main.js']",
          "['node', '--import', 'tsx', 'subgraphs/users/main.ts']",
        ),
      subgraphServiceProblems,
      'users: command "node --import tsx subgraphs/users/main.ts" is not "node dist/subgraphs/users/main.js"',
    ],
    [
      'an app bound to loopback',
      () => broken('HOST: 0.0.0.0', 'HOST: 127.0.0.1'),
      subgraphServiceProblems,
      'HOST 127.0.0.1',
    ],
    [
      'an app in development',
      () => broken('NODE_ENV: production', 'NODE_ENV: development'),
      gatewayServiceProblems,
      'NODE_ENV development',
    ],
    [
      'a literal internal token secret',
      () =>
        broken(
          /INTERNAL_TOKEN_SECRET: .*/,
          'INTERNAL_TOKEN_SECRET: 0123456789abcdef0123456789abcdef',
        ),
      subgraphServiceProblems,
      'INTERNAL_TOKEN_SECRET must come from a required variable',
    ],
    [
      'no KAFKA_BROKERS',
      () => broken(/^ *KAFKA_BROKERS: kafka:19092\n/m, ''),
      subgraphServiceProblems,
      'KAFKA_BROKERS is not set',
    ],
    [
      'KAFKA_BROKERS on another host',
      () => broken('KAFKA_BROKERS: kafka:19092', 'KAFKA_BROKERS: broker:19092'),
      gatewayServiceProblems,
      'broker:19092 is no kafka service',
    ],
    [
      'KAFKA_BROKERS on the host listener',
      () => broken('KAFKA_BROKERS: kafka:19092', 'KAFKA_BROKERS: kafka:9092'),
      subgraphServiceProblems,
      'kafka:9092 is not a listener kafka advertises',
    ],
    [
      'a subgraph not waiting for Kafka',
      () =>
        broken(
          /^ {2}kafka:\n {4}condition: service_healthy/m,
          '  kafka:\n    condition: service_started',
        ),
      subgraphServiceProblems,
      'users: must wait for kafka to be healthy',
    ],
    [
      'a healthcheck on another port',
      () => broken('127.0.0.1:4001/ready', '127.0.0.1:4002/ready'),
      subgraphServiceProblems,
      'users: the healthcheck must probe http://127.0.0.1:4001/ready',
    ],
    [
      'a gateway healthcheck on another path',
      () => broken('127.0.0.1:4000/ready', '127.0.0.1:4000/health'),
      gatewayServiceProblems,
      'gateway: the healthcheck must probe http://127.0.0.1:4000/ready',
    ],
    [
      'a published subgraph',
      () =>
        edited((services) => Object.assign(services['reporting'] ?? {}, { ports: ['4003:4003'] })),
      subgraphServiceProblems,
      'reporting: publishes ports',
    ],
    [
      'a DATABASE_URL that is no URL',
      () => broken(users, 'users'),
      subgraphServiceProblems,
      'users: DATABASE_URL users is not',
    ],
    [
      'a DATABASE_URL on another host',
      () => broken(users, users.replace('@postgres:', '@db:')),
      subgraphServiceProblems,
      'host db is no postgres service',
    ],
    [
      'a DATABASE_URL as another user',
      () => broken(users, users.replace('//postgres:', '//app:')),
      subgraphServiceProblems,
      "user app is not postgres's POSTGRES_USER",
    ],
    [
      'a literal database password',
      () => broken(users, 'postgres://postgres:secret@postgres:5432/users'),
      subgraphServiceProblems,
      "users: DATABASE_URL's password",
    ],
    [
      'a DATABASE_URL on another port',
      () => broken(users, users.replace(':5432/', ':5433/')),
      subgraphServiceProblems,
      "DATABASE_URL's port 5433",
    ],
    [
      'a DATABASE_URL naming a database not created',
      () => broken(users, users.replace(/users$/, 'userdb')),
      subgraphServiceProblems,
      'creates the database userdb',
    ],
    [
      'a subgraph not waiting for PostgreSQL',
      () =>
        broken(
          /^ {2}postgres:\n {4}condition: service_healthy/m,
          '  postgres:\n    condition: service_started',
        ),
      subgraphServiceProblems,
      'users: must wait for postgres to be healthy',
    ],
    [
      'a missing notification service',
      () => edited((services) => delete services['notifications']),
      notificationServiceProblems,
      'no service notifications',
    ],
    [
      'another notification entry point',
      () => broken("'dist/notifications/main.js'", "'dist/notifications/service.js'"),
      notificationServiceProblems,
      'notifications: command "node dist/notifications/service.js"',
    ],
    [
      'a notification healthcheck on /health',
      () => broken('127.0.0.1:4004/ready', '127.0.0.1:4004/health'),
      notificationServiceProblems,
      'notifications: the healthcheck must probe http://127.0.0.1:4004/ready (NOTIFICATIONS_PORT)',
    ],
    [
      'a NOTIFICATIONS_PORT the healthcheck does not probe',
      () => broken('NOTIFICATIONS_PORT: 4004', 'NOTIFICATIONS_PORT: 4014'),
      notificationServiceProblems,
      'notifications: the healthcheck must probe http://127.0.0.1:4014/ready',
    ],
    [
      'a notification service given the internal token secret',
      () =>
        broken(
          '<<: *service-environment\n      NOTIFICATIONS_PORT',
          '<<: *app-environment\n      NOTIFICATIONS_PORT',
        ),
      notificationServiceProblems,
      'notifications: gets INTERNAL_TOKEN_SECRET',
    ],
    [
      'a notification service given sign-in variables',
      () =>
        broken(
          'NOTIFICATIONS_PORT: 4004',
          'NOTIFICATIONS_PORT: 4004\n      OIDC_CLIENT_SECRET: ${OIDC_CLIENT_SECRET:?set it}',
        ),
      notificationServiceProblems,
      'notifications: gets OIDC_CLIENT_SECRET, but needs no sign-in',
    ],
    [
      'a notification service without KAFKA_BROKERS',
      () =>
        edited((services) => {
          const environment = services['notifications']?.environment;
          if (environment && !Array.isArray(environment)) delete environment['KAFKA_BROKERS'];
        }),
      notificationServiceProblems,
      'notifications: KAFKA_BROKERS is not set',
    ],
    [
      'a notification service not waiting for Kafka',
      () =>
        edited((services) =>
          Object.assign(services['notifications'] ?? {}, {
            depends_on: { postgres: { condition: 'service_healthy' } },
          }),
        ),
      notificationServiceProblems,
      'notifications: must wait for kafka to be healthy',
    ],
    [
      'a notification service not waiting for PostgreSQL',
      () =>
        edited((services) =>
          Object.assign(services['notifications'] ?? {}, {
            depends_on: { kafka: { condition: 'service_healthy' } },
          }),
        ),
      notificationServiceProblems,
      'notifications: must wait for postgres to be healthy',
    ],
    [
      "a notification service in a subgraph's database",
      () => broken('@postgres:5432/notifications', '@postgres:5432/users'),
      notificationServiceProblems,
      'notifications: DATABASE_URL names the database users, not its own notifications',
    ],
    [
      'a notification service with a literal database password',
      () =>
        broken(
          /postgres:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/notifications/,
          'postgres:secret@postgres:5432/notifications',
        ),
      notificationServiceProblems,
      "notifications: DATABASE_URL's password",
    ],
    [
      'a subgraph in the notification database',
      () => broken('@postgres:5432/users', '@postgres:5432/notifications'),
      subgraphServiceProblems,
      'users: DATABASE_URL names the database notifications, not its own users',
    ],
    [
      'a published notification service',
      () =>
        edited((services) =>
          Object.assign(services['notifications'] ?? {}, { ports: ['4004:4004'] }),
        ),
      notificationServiceProblems,
      'notifications: publishes ports',
    ],
    [
      'emails written without a volume',
      () => edited((services) => delete services['notifications']?.volumes),
      notificationServiceProblems,
      'notifications: SMTP_URL is unset, so the emails are files in MAIL_DIR /var/lib/interview-graph/mail',
    ],
    [
      'emails in an anonymous volume',
      () =>
        broken(
          '- notifications-mail:/var/lib/interview-graph/mail',
          '- /var/lib/interview-graph/mail',
        ),
      notificationServiceProblems,
      'mount a named volume there',
    ],
    [
      'a mail volume beside MAIL_DIR',
      () =>
        broken('MAIL_DIR: /var/lib/interview-graph/mail', 'MAIL_DIR: /var/lib/interview-graph/eml'),
      notificationServiceProblems,
      'MAIL_DIR /var/lib/interview-graph/eml: mount a named volume there',
    ],
    [
      'a MAIL_DIR the image does not create',
      () => broken(/\/var\/lib\/interview-graph\/mail/g, '/srv/mail'),
      notificationServiceProblems,
      'Dockerfile does not create MAIL_DIR /srv/mail for node',
    ],
    [
      'the default MAIL_DIR, which the image does not create',
      () => broken(/^ *MAIL_DIR: .*\n/m, ''),
      notificationServiceProblems,
      'Dockerfile does not create MAIL_DIR /app/.data/mail for node',
    ],
    [
      'a literal SMTP password',
      () => broken('SMTP_URL: ${SMTP_URL:-}', 'SMTP_URL: smtps://mailer:hunter2@mail.example.com'),
      notificationServiceProblems,
      'notifications: SMTP_URL holds a password',
    ],
    [
      'an SMTP_URL that is no SMTP URL',
      () => broken('SMTP_URL: ${SMTP_URL:-}', 'SMTP_URL: ${SMTP_URL:-http://mail.example.com}'),
      configProblems,
      'notifications: SMTP_URL: must be an smtp:// or smtps:// URL',
    ],
    [
      'a MAIL_FROM that is no address',
      () => broken('<no-reply@interview-graph.local>}', '<no-reply>}'),
      configProblems,
      'notifications: MAIL_FROM: must be an address',
    ],
    [
      'a port out of range',
      () => broken('NOTIFICATIONS_PORT: 4004', 'NOTIFICATIONS_PORT: 70000'),
      configProblems,
      'notifications: NOTIFICATIONS_PORT',
    ],
    [
      'a DATABASE_URL of another database system',
      () => broken(users, users.replace('postgres://', 'mysql://')),
      configProblems,
      'users: DATABASE_URL: must be a postgres:// or postgresql:// URL',
    ],
    [
      'a missing gateway service',
      () => edited((services) => delete services['gateway']),
      gatewayServiceProblems,
      'no service gateway',
    ],
    [
      'a gateway run without its Node.js flags',
      () => broken("'--max-semi-space-size=4', ", ''),
      gatewayServiceProblems,
      'gateway: command "node dist/gateway/main.js" is not "node --max-semi-space-size=4 dist/gateway/main.js"',
    ],
    [
      'a gateway published on another host port',
      () => broken("'4000:4000'", "'4010:4000'"),
      gatewayServiceProblems,
      'must publish 4000:4000',
    ],
    [
      'a subgraph routed to another port',
      () =>
        broken(
          'reporting=http://reporting:4003/graphql',
          'reporting=http://reporting:4013/graphql',
        ),
      gatewayServiceProblems,
      'routes reporting to http://reporting:4013/graphql',
    ],
    [
      'a subgraph not routed',
      () => broken(',reporting=http://reporting:4003/graphql', ''),
      gatewayServiceProblems,
      'routes reporting to undefined',
    ],
    [
      'a route to the notification service',
      () =>
        broken(
          'reporting:4003/graphql',
          'reporting:4003/graphql,notifications=http://notifications:4004/graphql',
        ),
      gatewayServiceProblems,
      'names no subgraph notifications (notifications is the worker: it serves no GraphQL)',
    ],
    [
      'a route to an unknown subgraph',
      () =>
        broken('reporting:4003/graphql', 'reporting:4003/graphql,audit=http://audit:4009/graphql'),
      gatewayServiceProblems,
      'names no subgraph audit',
    ],
    [
      'a gateway starting before a subgraph is healthy',
      () =>
        broken(
          /^ {6}users:\n {8}condition: service_healthy/m,
          '      users:\n        condition: service_started',
        ),
      gatewayServiceProblems,
      'gateway: must wait for users to be healthy',
    ],
    [
      'a gateway without PUBLIC_URL',
      () => broken(/^ *PUBLIC_URL: .*\n/m, ''),
      gatewayServiceProblems,
      'PUBLIC_URL is not set',
    ],
    [
      'a literal client id',
      () => broken(/OIDC_CLIENT_ID: .*/, 'OIDC_CLIENT_ID: interview-graph'),
      gatewayServiceProblems,
      'OIDC_CLIENT_ID must come from a required variable',
    ],
    [
      'an issuer that is no Authentik server',
      () =>
        broken(
          'e.g. http://authentik-server:9000/application',
          'e.g. http://authentik-worker:9000/application',
        ),
      gatewayServiceProblems,
      'OIDC_ISSUER must name an Authentik server',
    ],
    [
      'an issuer on a port Authentik does not serve',
      () =>
        broken(
          'e.g. http://authentik-server:9000/application',
          'e.g. http://authentik-server:9001/application',
        ),
      gatewayServiceProblems,
      'OIDC_ISSUER must name an Authentik server',
    ],
    [
      'a gateway in the database of a subgraph',
      () => broken('@postgres:5432/gateway', '@postgres:5432/users'),
      gatewayServiceProblems,
      'gateway: DATABASE_URL names the database users, not its own gateway',
    ],
    [
      'an application service config/services.ts does not list',
      () => edited((services) => (services['audit'] = { build: '.' })),
      serviceListProblems,
      'audit: runs the application image, but config/services.ts has no audit',
    ],
    ['a version key', () => broken(/^name:/m, "version: '3.8'\nname:"), fileProblems, 'version'],
  ];

  // One of each kind of finding of the schema: the structure is the schema's alone.
  it.each([
    [
      'a port of no type',
      "- '9092:9092'",
      '- true',
      'services.kafka.ports[0]: must be number, string or object, not true',
    ],
    [
      'a retry count that is no number',
      'retries: 10',
      'retries: ten',
      'services.users.healthcheck.retries: must be number, not "ten"',
    ],
    [
      'a variable that is an object',
      'KAFKA_NODE_ID: 1',
      'KAFKA_NODE_ID: { id: 1 }',
      'services.kafka.environment.KAFKA_NODE_ID: must be string, number, boolean or null, not {"id":1}',
    ],
    [
      'a key the spec does not know',
      'image: postgres:17',
      'image: postgres:17\n    restart_policy: always',
      'services.postgres.restart_policy: is not in the compose specification',
    ],
    [
      'a condition the spec does not know',
      'condition: service_started',
      'condition: started',
      'services.gateway.depends_on.authentik-server.condition: must be one of service_started, service_healthy, service_completed_successfully, not "started"',
    ],
    [
      'a dependency without condition',
      /authentik-server:\n {8}condition: service_started/,
      'authentik-server: {}',
      "services.gateway.depends_on.authentik-server: must have required property 'condition'",
    ],
    [
      'a duration that is none',
      'interval: 10s',
      'interval: 10 seconds',
      'services.users.healthcheck.interval: must match format "duration", not "10 seconds"',
    ],
    [
      'a port that is none',
      "'4000:4000'",
      "'4000:gateway'",
      'services.gateway.ports[0]: must match format "ports", not "4000:gateway"',
    ],
    [
      'a port published twice',
      "- '9092:9092'",
      "- '9092:9092'\n      - '9092:9092'",
      'services.kafka.ports: must NOT have duplicate items',
    ],
    [
      'a project name compose refuses',
      'name: interview-graph',
      'name: Interview Graph',
      'name: must match pattern',
    ],
  ])('catch %s', (_what, from, to, expected) => {
    expect(text).toMatch(from);
    const problems = composeSchemaProblems(parseComposeYaml(text.replace(from, to)));
    expect(problems.join('\n')).toContain(expected);
  });

  it('refuse to load a file outside the spec, listing every problem', () => {
    const invalid = text.replace('retries: 10', 'retries: ten').replace("- '9092:9092'", '- true');
    expect(() => load(invalid)).toThrow(ComposeSchemaError);
    expect(() => load(invalid)).toThrow(
      /services\.kafka\.ports\[0\]: must be .*\n(.*\n)*services\.users\.healthcheck\.retries/,
    );
  });

  it.each(cases)('catch %s', (_what, makeFile, check, expected) => {
    const problems = check(makeFile());
    expect(problems.join('\n')).toContain(expected);
  });

  it('catch an entry point missing from the repository', () => {
    const file = load(text);
    const service = file.doc.services['users'] ?? {};
    const spec = { ...serviceNamed('users'), entry: 'subgraphs/users/gone' };
    expect(appServiceProblems(file, 'users', service, spec).join('\n')).toContain(
      'subgraphs/users/gone.ts does not exist',
    );
  });

  it('catch an entry point the build does not compile', () => {
    const file = load(text);
    const service = file.doc.services['users'] ?? {};
    const spec = { ...serviceNamed('users'), entry: 'deploy/docker-compose.test' };
    expect(appServiceProblems(file, 'users', service, spec).join('\n')).toContain(
      'users: npm run build does not compile deploy/docker-compose.test.ts',
    );
  });

  /** A folder with a copy of `source` (a file in the repository) changed by `edit`. */
  function changedCopy(source: string, edit: (text: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
    const original = fs.readFileSync(path.join(ROOT, source), 'utf8');
    const changed = edit(original);
    expect(changed).not.toBe(original);
    fs.writeFileSync(path.join(dir, path.basename(source)), changed);
    return dir;
  }

  it('catch a database the init scripts do not create', () => {
    const init = changedCopy('deploy/postgres/init/01-databases.sql', (sql) =>
      sql.replace(/^CREATE DATABASE notifications;\n/m, ''),
    );
    try {
      const file = load(text.replace('./deploy/postgres/init:', `${init}:`));
      expect(postgresProblems(file).join('\n')).toContain(
        'postgres: no init script creates the database notifications',
      );
      expect(notificationServiceProblems(file).join('\n')).toContain(
        'notifications: no init script of postgres creates the database notifications',
      );
      expect(subgraphServiceProblems(file)).toEqual([]);
    } finally {
      fs.rmSync(init, { recursive: true, force: true });
    }
  });

  it.each([
    ['without the mail folder', (d: string) => d.replace(/^RUN mkdir -p \/var\/lib\/.*\n/m, '')],
    ['with the mail folder left to root', (d: string) => d.replace(/ && chown .*/, '')],
    ['with the mail folder for another user', (d: string) => d.replace('USER node', 'USER app')],
  ])('catch a Dockerfile %s', (_what, edit) => {
    const dir = changedCopy('Dockerfile', edit);
    try {
      const file = edited((services) =>
        Object.assign(services['notifications'] ?? {}, {
          build: { context: '.', dockerfile: path.join(dir, 'Dockerfile') },
        }),
      );
      expect(notificationServiceProblems(file).join('\n')).toContain(
        'does not create MAIL_DIR /var/lib/interview-graph/mail for',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['that does not build', /^RUN npm run build\n/m, '', 'no stage runs npm run build'],
    [
      'with the devDependencies in the image',
      'npm ci --omit=dev',
      'npm ci',
      'the image installs the devDependencies ("npm ci --no-audit',
    ],
    [
      'without the compiled code',
      /^COPY --from=build .*\n/m,
      '',
      'the image has no dist/ (copy it from the stage that builds it)',
    ],
    [
      'copying dist/ from a stage that does not build it',
      'COPY --from=build',
      'COPY --from=node:20',
      'the image has no dist/',
    ],
    [
      'without the supergraph',
      /^COPY supergraph\.graphql .*\n/m,
      '',
      'the image has no supergraph.graphql',
    ],
    [
      'starting the gateway under tsx',
      'CMD ["node", "--max-semi-space-size=4", "dist/gateway/main.js"]',
      'CMD ["node", "--import", "tsx", "gateway/main.ts"]',
      'the image starts "node --import tsx gateway/main.ts", not "node --max-semi-space-size=4 dist/gateway/main.js"',
    ],
    [
      'starting the gateway without its Node.js flags',
      'CMD ["node", "--max-semi-space-size=4", "dist/gateway/main.js"]',
      'CMD ["node", "dist/gateway/main.js"]',
      'the image starts "node dist/gateway/main.js", not "node --max-semi-space-size=4 dist/gateway/main.js"',
    ],
  ])('catch a Dockerfile %s', (_what, from, to, expected) => {
    const dir = changedCopy('Dockerfile', (d) => d.replace(from, to));
    try {
      const file = edited((services) => {
        for (const [, service] of servicesOf({ text, doc: { services }, dir: ROOT }, 'app')) {
          service.build = { context: '.', dockerfile: path.join(dir, 'Dockerfile') };
        }
      });
      expect(dockerfileProblems(file).join('\n')).toContain(expected);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accept a Dockerfile of one stage that prunes the devDependencies after the build', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-test-'));
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        'FROM node:20-bookworm-slim',
        'WORKDIR /app',
        'COPY . .',
        'RUN npm ci && npm run build && npm prune --omit=dev',
        'CMD ["node", "--max-semi-space-size=4", "dist/gateway/main.js"]',
      ].join('\n'),
    );
    try {
      const file = edited((services) => {
        for (const [, service] of servicesOf({ text, doc: { services }, dir: ROOT }, 'app')) {
          service.build = { context: '.', dockerfile: path.join(dir, 'Dockerfile') };
        }
      });
      expect(dockerfileProblems(file)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('need no mail volume once SMTP_URL is set', () => {
    const file = load(
      text
        .replace('SMTP_URL: ${SMTP_URL:-}', 'SMTP_URL: ${SMTP_URL:?set SMTP_URL}')
        .replace(/^ *MAIL_DIR: .*\n/m, '')
        .replace(/^ {4}volumes:\n {6}- notifications-mail:.*\n/m, ''),
    );
    const service = file.doc.services['notifications'];
    expect(service?.volumes).toBeUndefined();
    expect(envOf(service ?? {}).has('MAIL_DIR')).toBe(false);
    expect(notificationServiceProblems(file)).toEqual([]);
  });

  it('catch a pom with another Kafka version', () => {
    const pom = fs
      .readFileSync(POM_PATH, 'utf8')
      .replace(/<kafka\.version>[^<]+/, '<kafka.version>9.9.9');
    expect(pomProblems(load(text), pom).join('\n')).toContain('9.9.9');
  });
});

describe('the monitoring checks', () => {
  const text = fs.readFileSync(COMPOSE_PATH, 'utf8');
  const folders: string[] = [];
  afterAll(() => {
    for (const dir of folders) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The real file with `from` (which must occur in it) replaced by `to`. */
  function broken(from: string | RegExp, to: string, compose = text): ComposeFile {
    expect(compose).toMatch(from);
    return load(compose.replace(from, to));
  }

  /**
   * The real file with the bind mount of `source` (a file or folder of deploy/) replaced by a
   * copy whose `inside` (the file itself, or a file of the folder) `edit` changed.
   */
  function withChangedCopy(
    source: string,
    inside: string,
    edit: (text: string) => string,
  ): ComposeFile {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'monitoring-test-'));
    folders.push(dir);
    const copy = path.join(dir, path.basename(source));
    fs.cpSync(path.join(ROOT, source), copy, { recursive: true });
    const changed = path.join(copy, inside);
    const original = fs.readFileSync(changed, 'utf8');
    const edited = edit(original);
    expect(edited).not.toBe(original);
    fs.writeFileSync(changed, edited);
    return broken(`./${source}:`, `${copy}:`);
  }

  const cases: [string, () => ComposeFile, (file: ComposeFile) => string[], string][] = [
    [
      'a service Prometheus does not scrape',
      () =>
        withChangedCopy('deploy/prometheus.yml', '', (y) =>
          y.replace(/ {2}- job_name: reporting\n(?: {4}.*\n)+/, ''),
        ),
      prometheusProblems,
      'prometheus: scrapes no reporting:4003/metrics (',
    ],
    [
      'a scrape target compose does not run',
      () =>
        withChangedCopy('deploy/prometheus.yml', '', (y) =>
          y.replace('names: [reporting]', 'names: [audit]'),
        ),
      prometheusProblems,
      'prometheus: job reporting scrapes audit:4003/metrics, but docker-compose.yml has no service audit',
    ],
    [
      'a scrape on another port',
      () =>
        withChangedCopy('deploy/prometheus.yml', '', (y) => y.replace('port: 4001', 'port: 4011')),
      prometheusProblems,
      'prometheus: job users scrapes users:4011/metrics; users serves users:4001/metrics',
    ],
    [
      'a service on a port Prometheus does not scrape',
      () => broken('USERS_PORT: 4001', 'USERS_PORT: 4101'),
      prometheusProblems,
      'prometheus: scrapes no users:4101/metrics',
    ],
    [
      'a Prometheus configuration of another shape',
      () =>
        withChangedCopy('deploy/prometheus.yml', '', (y) =>
          y.replace('job_name: users', 'job: users'),
        ),
      prometheusProblems,
      'prometheus.yml scrape_configs.0.job_name: Invalid input',
    ],
    [
      'a Prometheus configuration not mounted',
      () =>
        broken(
          './deploy/prometheus.yml:/etc/prometheus/prometheus.yml',
          './deploy/prometheus.yml:/etc/prometheus/other.yml',
        ),
      prometheusProblems,
      'prometheus: /etc/prometheus/prometheus.yml is not mounted from a file of the repository',
    ],
    [
      'an image without a version',
      () => broken('prom/prometheus:v3.5.0', 'prom/prometheus'),
      imagePinProblems,
      'prometheus: image prom/prometheus is not pinned to a version',
    ],
    [
      'an image on latest',
      () => broken('grafana/grafana:12.1.0', 'grafana/grafana:latest'),
      imagePinProblems,
      'grafana: image grafana/grafana:latest is not pinned',
    ],
    [
      'a provisioning folder missing from the repository',
      () => broken('./deploy/grafana/provisioning:', './deploy/grafana/provision:'),
      grafanaProblems,
      'grafana: /etc/grafana/provisioning is not mounted from a folder of the repository',
    ],
    [
      'a dashboards folder missing from the repository',
      () => broken('./deploy/grafana/dashboards:', './deploy/grafana/boards:'),
      grafanaProblems,
      'grafana: mounts ./deploy/grafana/boards, which is not in the repository',
    ],
    [
      'dashboards mounted where the provider does not read',
      () =>
        broken(
          'dashboards:/var/lib/grafana/dashboards:ro',
          'dashboards:/var/lib/grafana/boards:ro',
        ),
      grafanaProblems,
      'grafana: dashboard provider interview-graph reads /var/lib/grafana/dashboards, where no folder',
    ],
    [
      'a datasource on another host',
      () =>
        withChangedCopy('deploy/grafana/provisioning', 'datasources/prometheus.yml', (y) =>
          y.replace('http://prometheus:9090', 'http://prom:9090'),
        ),
      grafanaProblems,
      'grafana: datasource Prometheus points at http://prom:9090, not the Prometheus of this file (http://prometheus:9090)',
    ],
    [
      'a datasource without uid',
      () =>
        withChangedCopy('deploy/grafana/provisioning', 'datasources/prometheus.yml', (y) =>
          y.replace(/^ *uid: prometheus\n/m, ''),
        ),
      grafanaProblems,
      'grafana: datasource Prometheus has no uid',
    ],
    [
      'a panel on another datasource',
      () =>
        withChangedCopy('deploy/grafana/dashboards', 'interview-graph.json', (j) =>
          j.replace('"uid": "prometheus"', '"uid": "loki"'),
        ),
      grafanaProblems,
      'interview-graph.json: panel "Messages produced per topic" uses datasource {"type":"prometheus","uid":"loki"}, not the provisioned prometheus',
    ],
    [
      'a query on a metric the list does not know',
      () =>
        withChangedCopy('deploy/grafana/dashboards', 'interview-graph.json', (j) =>
          j.replace('sum by (group) (kafka_consumer_lag)', 'sum by (group) (kafka_consumer_lags)'),
        ),
      grafanaProblems,
      'interview-graph.json: panel "Consumer lag per group" queries kafka_consumer_lags, which is not in deploy/metric-names.ts',
    ],
    [
      'a query on a label the metric does not have',
      () =>
        withChangedCopy('deploy/grafana/dashboards', 'interview-graph.json', (j) =>
          j.replace('sum by (reason) (', 'sum by (cause) ('),
        ),
      grafanaProblems,
      'panel "Dead-lettered messages per reason" uses the label cause, not one of kafka_messages_dead_lettered_total\'s',
    ],
    [
      'a metric of the list no dashboard shows',
      () =>
        withChangedCopy('deploy/grafana/dashboards', 'interview-graph.json', (j) =>
          j.replace(
            /rate\(kafka_handler_failures_total/g,
            'rate(kafka_handler_duration_seconds_count',
          ),
        ),
      grafanaProblems,
      'grafana: no dashboard shows kafka_handler_failures_total',
    ],
    [
      'a dashboard that does not parse',
      () =>
        withChangedCopy('deploy/grafana/dashboards', 'interview-graph.json', (j) =>
          j.slice(0, 200),
        ),
      grafanaProblems,
      'interview-graph.json does not parse',
    ],
    [
      'a collector configuration that does not parse',
      () =>
        withChangedCopy('deploy/otel-collector.yaml', '', (y) =>
          y.replace('receivers:\n', 'receivers: [\n'),
        ),
      collectorProblems,
      'otel-collector.yaml does not parse',
    ],
    [
      'a pipeline on an exporter not defined',
      () =>
        withChangedCopy('deploy/otel-collector.yaml', '', (y) =>
          y.replace('exporters: [debug]', 'exporters: [otlp/jaeger]'),
        ),
      collectorProblems,
      'pipeline traces uses the exporter otlp/jaeger, which is not defined',
    ],
    [
      'a collector without a debug exporter',
      () =>
        withChangedCopy('deploy/otel-collector.yaml', '', (y) =>
          y
            .replace(/exporters:\n {2}debug:/, 'exporters:\n  otlphttp:')
            .replace(/\[debug\]/g, '[otlphttp]'),
        ),
      collectorProblems,
      'otel-collector.yaml: no debug exporter',
    ],
    [
      'a receiver on the container loopback',
      () =>
        withChangedCopy('deploy/otel-collector.yaml', '', (y) =>
          y.replace('endpoint: 0.0.0.0:4318', 'endpoint: localhost:4318'),
        ),
      collectorProblems,
      "the otlp receiver's http endpoint localhost:4318 is not reachable from other containers",
    ],
    [
      'services sending to the gRPC port',
      () =>
        broken(
          'OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4318',
          'OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317',
        ),
      collectorProblems,
      "users: OTEL_EXPORTER_OTLP_ENDPOINT http://otel-collector:4317 is not the collector's OTLP/HTTP receiver http://otel-collector:4318",
    ],
    [
      'a collector port published that it does not listen on',
      () => broken("'4318:4318'", "'4318:4319'"),
      portProblems,
      'otel-collector: publishes container port 4319, but listens on [4317, 4318]',
    ],
    [
      'a Grafana port published that it does not listen on',
      () => broken("'3000:3000'", "'3000:3001'"),
      portProblems,
      'grafana: publishes container port 3001, but listens on [3000]',
    ],
    [
      'a Grafana admin password written in the file',
      () => broken(/GF_SECURITY_ADMIN_PASSWORD: .*/, 'GF_SECURITY_ADMIN_PASSWORD: admin'),
      environmentValueProblems,
      'grafana: GF_SECURITY_ADMIN_PASSWORD must come from a required variable',
    ],
  ];

  it.each(cases)('catch %s', (_what, makeFile, check, expected) => {
    expect(check(makeFile()).join('\n')).toContain(expected);
  });

  it('take OTEL_EXPORTER_OTLP_ENDPOINT for the SDK, no other unknown variable', () => {
    expect(appEnvironmentProblems(load(text))).toEqual([]);
    const file = broken(
      'OTEL_EXPORTER_OTLP_ENDPOINT: http',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: http',
    );
    expect(appEnvironmentProblems(file).join('\n')).toContain(
      'users: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not in CONFIG_VARIABLES',
    );
  });
});

describe('promqlLabelNames', () => {
  it('read grouping and matching labels', () => {
    expect(
      promqlLabelNames(
        'sum by (group, le) (rate(x_bucket{state!="a,b", topic=~"t"}[5m])) / on(job) y{__name__="z"}',
      ),
    ).toEqual(['group', 'le', 'job', 'state', 'topic']);
  });
});

describe('promqlMetricNames', () => {
  it.each([
    ['rate(kafka_messages_produced_total[1m])', ['kafka_messages_produced_total']],
    [
      'histogram_quantile(0.99, sum by (subgraph, le) (rate(gateway_subgraph_request_duration_seconds_bucket[5m])))',
      ['gateway_subgraph_request_duration_seconds_bucket'],
    ],
    ['kafka_consumer_state{state!="connected", group=~"a|b"} == 1', ['kafka_consumer_state']],
    ['sum(a_total) without (instance) / on (job) group_left b_total', ['a_total', 'b_total']],
    ['rate(x_total[$__rate_interval]) offset 5m and y > 1e3', ['x_total', 'y']],
    ['up{job="$job"} or vector(0)', ['up']],
    ['{__name__=~"kafka_.*"}', []],
  ])('%s', (expr, names) => {
    expect(promqlMetricNames(expr)).toEqual(names);
  });

  it('tell a histogram series from an unknown name', () => {
    expect(metricOfSeries('kafka_handler_duration_seconds_bucket')?.name).toBe(
      'kafka_handler_duration_seconds',
    );
    expect(metricOfSeries('kafka_consumer_lag_count')).toBeUndefined();
  });
});
