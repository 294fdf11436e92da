/**
 * `npm start`: runs the whole platform on this machine.
 *
 * Starts a local Kafka broker unless KAFKA_BROKERS names a cluster, then the three subgraphs
 * (each its own process, with its outbox relay and consumers), the notification service and the
 * gateway, waits until each
 * answers `/ready`, and prints the URLs. Ctrl-C stops everything in reverse order. Without an
 * OIDC_ISSUER it also runs a development IdP and registers its accounts as users, so that
 * signing in with `dev@example.com` / `dev` finds a user.
 *
 * When INTERNAL_TOKEN_SECRET is unset, a random one is generated for this run and given to every
 * child, so the subgraphs accept exactly the gateway's tokens. When SCHEMA_REGISTRY_URL is unset,
 * an embedded schema registry (in memory, events/registry/embedded.ts) is started for the run.
 *
 * `npm start` runs this compiled (`npm run build`, then `node dist/scripts/start.js`), and then
 * every child runs its compiled entry point with plain `node`; run from source under tsx
 * (`node --import tsx scripts/start.ts`), the children run their `.ts` entry points under tsx
 * too. Either way they run in the project root, where `supergraph.graphql` and `.data/` are.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as path from 'node:path';
import { loadConfigOrExit } from '../config';
import type { DevProvider } from './dev-idp';
import { SERVICES, SUBGRAPH_NAMES, type ServiceDefinition } from '../config/services';
import { Lifecycle } from '../lib/lifecycle';
import { MODULE_EXTENSION, PROJECT_ROOT } from '../lib/project-root';
import { startLocalKafkaCluster, type LocalKafkaCluster } from './kafka/local-cluster';
import { LocalKafkaError } from './kafka/errors';
import { startEmbeddedRegistry } from '../events/registry';

const READY_TIMEOUT_MS = 90_000;

interface Running {
  service: ServiceDefinition;
  port: number;
  child: ChildProcess;
}

/**
 * How to run an entry point the way this script itself runs: its compiled `.js` beside this
 * module with plain `node` (no loader, so no TypeScript compiler in memory), or its `.ts` source
 * under tsx.
 */
export function entryArgs(entry: string, extension = MODULE_EXTENSION): string[] {
  const file = path.resolve(__dirname, '..', `${entry}${extension}`);
  return extension === '.ts' ? ['--import', 'tsx', file] : [file];
}

/** `[name]` padded to the longest service name, so the children's log lines start in one column. */
function linePrefix(name: string): string {
  const width = Math.max(...SERVICES.map((s) => s.name.length)) + 2;
  return `[${name}]`.padEnd(width);
}

/** Prefixes each line of a child's output with its name, so interleaved logs stay readable. */
function pipeWithPrefix(
  stream: NodeJS.ReadableStream | null,
  name: string,
  out: NodeJS.WriteStream,
) {
  if (!stream) return;
  const prefix = linePrefix(name);
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) out.write(`${prefix} ${line}\n`);
  });
}

async function waitUntilReady(running: Running, host: string): Promise<void> {
  const url = `http://${host}:${running.port}/ready`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (running.child.exitCode !== null) {
      throw new Error(
        `${running.service.name} exited with code ${running.child.exitCode} before it was ready`,
      );
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = await response.text();
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${running.service.name} was not ready after ${READY_TIMEOUT_MS / 1000} s: ${last}`,
  );
}

async function stopChild(running: Running): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();

  // Stopped in reverse: the gateway first, the subgraphs, then the IdP and Kafka.
  const lifecycle = new Lifecycle();
  let kafka: LocalKafkaCluster | undefined;
  let idp: DevProvider | undefined;
  let webhookSecret: string | undefined;
  let stopping = false;
  let registryLine = '';

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    await lifecycle.stop().catch((error: unknown) => console.error(error));
    console.log('Stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    let brokers = config.kafka.brokers;
    if (!brokers) {
      const { nodes } = config.localKafka;
      console.log(
        `Starting a local Kafka ${config.localKafka.version} ${nodes === 1 ? 'broker' : `cluster of ${nodes} nodes`}...`,
      );
      kafka = lifecycle.use(
        'kafka',
        await startLocalKafkaCluster({
          ...config.localKafka,
          log: (line) => console.log(`${linePrefix('kafka')} ${line}`),
        }),
        (k) => k.stop(),
      );
      brokers = kafka.brokers;
    }
    // Without an issuer, a development OpenID provider (oidc-provider) with two accounts.
    const signIn: Record<string, string> = {};
    if (!config.identity.issuer) {
      // Loaded only here: oidc-provider and its dependencies are development-only.
      const { createDevProvider } = await import('./dev-idp.js');
      const clientSecret = randomBytes(32).toString('base64url');
      const publicUrl = config.identity.publicUrl;
      const provider = createDevProvider({
        clientId: config.identity.clientId,
        clientSecret,
        redirectUris: [`${publicUrl}/auth/callback`],
        postLogoutRedirectUris: [publicUrl],
        audience: config.identity.audience,
        groupsClaim: config.identity.groupsClaim,
      });
      const { issuer } = await provider.start();
      idp = lifecycle.use('development IdP', provider, (p) => p.stop());
      signIn.OIDC_ISSUER = issuer;
      signIn.OIDC_CLIENT_SECRET = clientSecret;
      webhookSecret = config.identity.webhookSecret ?? randomBytes(24).toString('base64url');
      signIn.AUTHENTIK_WEBHOOK_SECRET = webhookSecret;
    }
    // Without a registry, the embedded one (in memory): every service registers the schemas it
    // produces and stamps messages with their ids, as against Confluent's or Apicurio's.
    let schemaRegistryUrl = config.kafka.schemaRegistryUrl;
    if (!schemaRegistryUrl) {
      const registry = lifecycle.use(
        'schema registry',
        await startEmbeddedRegistry({ host: config.host }),
        (r) => r.stop(),
      );
      schemaRegistryUrl = registry.url;
      registryLine = `${registry.url} (embedded, in memory)`;
    } else {
      registryLine = `${schemaRegistryUrl} (SCHEMA_REGISTRY_URL)`;
    }
    const subgraphUrl = (port: number) => `http://${config.host}:${port}/graphql`;
    const env = {
      ...process.env,
      // The children's output is a pipe to this process: their pretty logs are coloured when
      // stderr is a terminal (unless NO_COLOR or FORCE_COLOR say otherwise).
      ...(config.logColor === undefined && process.stderr.isTTY ? { FORCE_COLOR: '1' } : {}),
      ...signIn,
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: schemaRegistryUrl,
      INTERNAL_TOKEN_SECRET:
        config.identity.internalTokenSecret ?? randomBytes(48).toString('base64url'),
      // The checked-in supergraph routes to the default ports; follow the configured ones.
      GATEWAY_SUBGRAPH_URLS: SUBGRAPH_NAMES.map(
        (name) => `${name}=${subgraphUrl(config.ports[name])}`,
      ).join(','),
    };

    for (const service of SERVICES) {
      const args = [...service.nodeFlags, ...entryArgs(service.entry)];
      const child = spawn(process.execPath, args, {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const running = { service, port: config.ports[service.name], child };
      lifecycle.defer(service.name, () => stopChild(running));
      pipeWithPrefix(child.stdout, service.name, process.stdout);
      pipeWithPrefix(child.stderr, service.name, process.stderr);
      child.on('exit', (code, signal) => {
        if (stopping) return;
        console.error(
          `${service.name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping everything.`,
        );
        void shutdown(1);
      });
      // Subgraphs must be ready before the gateway starts probing them.
      await waitUntilReady(running, config.host);
    }
    if (idp && webhookSecret) {
      // The development accounts are real users from the start: registered as the IdP's
      // webhook registers new users (again at every start, which changes nothing).
      const { registerDevAccounts } = await import('./dev-idp.js');
      await registerDevAccounts(config.identity.publicUrl, webhookSecret, idp.accounts);
    }
  } catch (error) {
    console.error(
      error instanceof LocalKafkaError || error instanceof Error ? error.message : error,
    );
    await shutdown(1);
    return;
  }

  const base = (port: number) => `http://${config.host}:${port}`;
  console.log(`
Interview Graph is running.
  Web app             ${base(config.ports.gateway)}/
  GraphQL (gateway)   ${base(config.ports.gateway)}/graphql
  Subscriptions       ws://${config.host}:${config.ports.gateway}/graphql (graphql-transport-ws), ${base(config.ports.gateway)}/graphql/stream (SSE), multipart on /graphql
  GraphiQL (offline)  ${base(config.ports.gateway)}/graphiql
  Health / readiness  ${base(config.ports.gateway)}/health, /ready, /metrics
  Subgraphs           users ${base(config.ports.users)}/graphql, interviews ${base(config.ports.interviews)}/graphql, reporting ${base(config.ports.reporting)}/graphql
  Notifications       ${base(config.ports.notifications)}/ready; emails ${config.mail.smtpUrl ? `via ${new URL(config.mail.smtpUrl).host} (SMTP_URL)` : `written to ${path.resolve(config.mail.dir)}/*.eml`}
  Kafka               ${kafka ? `${kafka.brokers.join(',')} (local, log${kafka.nodes.length === 1 ? '' : 's'}: ${kafka.nodes.map((n) => n.logFile).join(', ')})` : `${config.kafka.brokers?.join(',')} (KAFKA_BROKERS)`}
  Schema registry     ${registryLine}
  Sign in             ${config.identity.publicUrl}/auth/login${
    idp
      ? `  (development IdP ${idp.issuer}: ${idp.accounts.map((a) => `${a.email} / ${a.password}`).join(', ')})`
      : ''
  }
Press Ctrl-C to stop.`);
}

if (require.main === module) void main();
