/**
 * deploy/docker-compose.replicas.yml (the platform scaled out on top of docker-compose.yml) kept
 * consistent with the base file and deploy/haproxy.cfg, since no Docker engine runs here: it
 * follows the compose specification (its JSON schema, deploy/compose-check.ts); every HAProxy
 * backend names a service with as many replicas, on the port it listens on; the gateway
 * routes the interviews subgraph through HAProxy and trusts only its address; the three Kafka
 * nodes form one quorum and every service bootstraps from all of them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  composeSchemaProblems,
  envOf,
  loadCompose,
  parseComposeYaml,
  type ComposeService,
} from './compose-check';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

const env = (service: ComposeService | undefined, key: string) =>
  service && envOf(service).get(key);

/** Frontends (name -> bound port) and backends (name -> server templates) of an HAProxy file. */
function readHaproxy(text: string) {
  const frontends = new Map<string, number>();
  const templates = new Map<string, { count: number; host: string; port: number }>();
  let section: { kind: string; name: string } | undefined;
  for (const line of text.split('\n').map((l) => l.trim())) {
    const header = /^(frontend|backend|global|defaults|resolvers)\b\s*(\S*)/.exec(line);
    if (header) section = { kind: header[1]!, name: header[2] ?? '' };
    const bind = /^bind \S*:(\d+)/.exec(line);
    if (bind && section?.kind === 'frontend') frontends.set(section.name, Number(bind[1]));
    const template = /^server-template \S+ (\d+) ([\w-]+):(\d+)/.exec(line);
    if (template && section?.kind === 'backend') {
      templates.set(section.name, {
        count: Number(template[1]),
        host: template[2]!,
        port: Number(template[3]),
      });
    }
  }
  return { frontends, templates };
}

/** Every inconsistency between the three files, one line each. */
function replicaProblems(baseText: string, overrideText: string, haproxyText: string): string[] {
  const problems: string[] = [];
  const base = loadCompose(baseText, ROOT).doc;
  const over = loadCompose(overrideText, path.join(ROOT, 'deploy')).doc;
  const { frontends, templates } = readHaproxy(haproxyText);
  const haproxy = over.services['haproxy'];
  if (!haproxy) return ['the override runs no haproxy service'];

  for (const [backend, { count, host, port }] of templates) {
    const service = base.services[host];
    if (!service) {
      problems.push(`haproxy backend ${backend}: no service ${host}`);
      continue;
    }
    const replicas = over.services[host]?.deploy?.replicas ?? 1;
    if (replicas !== count)
      problems.push(`haproxy backend ${backend}: ${count} servers, but ${host} runs ${replicas}`);
    const listens = [...envOf(service)].find(([k]) => k.endsWith('_PORT'));
    if (Number(listens?.[1]) !== port)
      problems.push(`haproxy backend ${backend}: ${host} listens on ${listens?.[1]}, not ${port}`);
  }

  const gateway = over.services['gateway'];
  if ((haproxy.ports ?? []).join() !== `${frontends.get('gateway')}:${frontends.get('gateway')}`)
    problems.push(`haproxy publishes ${haproxy.ports?.join()}, not its gateway frontend's port`);
  if ((gateway?.ports ?? []).length > 0)
    problems.push('the gateway replicas publish a port: only HAProxy can');
  const interviewsRoute = /interviews=(\S+?)(,|$)/.exec(
    env(gateway, 'GATEWAY_SUBGRAPH_URLS') ?? '',
  )?.[1];
  if (interviewsRoute !== `http://haproxy:${frontends.get('interviews')}/graphql`)
    problems.push(`the gateway routes interviews to ${interviewsRoute}, not HAProxy's frontend`);
  const networks = haproxy.networks ?? [];
  const address = Array.isArray(networks) ? undefined : networks['default']?.ipv4_address;
  if (env(gateway, 'TRUSTED_PROXIES') !== address)
    problems.push(
      `the gateway trusts ${env(gateway, 'TRUSTED_PROXIES')}, not HAProxy (${address})`,
    );

  // Kafka: the base file's broker and the override's new ones, one quorum.
  const nodes = Object.keys(over.services).filter(
    (name) =>
      name === 'kafka' ||
      base.services[name]?.image?.startsWith('apache/kafka') ||
      /^kafka-\d+$/.test(name),
  );
  const voters = env(over.services['kafka'], 'KAFKA_CONTROLLER_QUORUM_VOTERS') ?? '';
  const bootstrap: string[] = [];
  for (const name of nodes) {
    const node = over.services[name];
    const id = env(node, 'KAFKA_NODE_ID') ?? env(base.services[name], 'KAFKA_NODE_ID');
    if (env(node, 'KAFKA_CONTROLLER_QUORUM_VOTERS') !== voters)
      problems.push(`${name}: another quorum than kafka's`);
    if (!voters.split(',').includes(`${id}@${name}:9093`))
      problems.push(`${name}: node ${id} is not a voter (${voters})`);
    const advertised =
      env(node, 'KAFKA_ADVERTISED_LISTENERS') ??
      env(base.services[name], 'KAFKA_ADVERTISED_LISTENERS');
    const internal = /INTERNAL:\/\/([^,]+)/.exec(advertised ?? '')?.[1];
    if (internal) bootstrap.push(internal);
  }
  if (voters.split(',').length !== nodes.length)
    problems.push(`${voters.split(',').length} voters for ${nodes.length} Kafka nodes`);
  for (const [name, service] of Object.entries(base.services)) {
    if (env(service, 'KAFKA_BROKERS') === undefined) continue;
    const brokers = env(over.services[name], 'KAFKA_BROKERS') ?? env(service, 'KAFKA_BROKERS');
    if (brokers !== bootstrap.join(','))
      problems.push(`${name}: KAFKA_BROKERS ${brokers}, not every node (${bootstrap.join(',')})`);
  }
  return problems;
}

describe('the replicas override of docker-compose', () => {
  const files = () =>
    [
      read('docker-compose.yml'),
      read('deploy/docker-compose.replicas.yml'),
      read('deploy/haproxy.cfg'),
    ] as const;

  it('follows the compose specification', () => {
    const [, override] = files();
    expect(composeSchemaProblems(parseComposeYaml(override))).toEqual([]);
    const broken = override.replace('replicas: 2', 'replicas: two');
    expect(composeSchemaProblems(parseComposeYaml(broken))).toEqual([
      'services.interviews.deploy.replicas: must be integer, not "two"',
    ]);
  });

  it('agrees with docker-compose.yml and deploy/haproxy.cfg', () => {
    expect(replicaProblems(...files())).toEqual([]);
  });

  it('finds a backend sized unlike its service, a route around HAProxy, and a broker left out', () => {
    const [base, override, haproxy] = files();
    expect(
      replicaProblems(base, override.replace(/replicas: 2/, 'replicas: 3'), haproxy),
    ).toContainEqual(expect.stringMatching(/2 servers, but interviews runs 3/));
    expect(
      replicaProblems(
        base,
        override.replace('interviews=http://haproxy:4002', 'interviews=http://interviews:4002'),
        haproxy,
      ),
    ).toContainEqual(expect.stringMatching(/routes interviews to http:\/\/interviews:4002/));
    expect(
      replicaProblems(
        base,
        override.replace('kafka:19092,kafka-2:19092,kafka-3:19092', 'kafka:19092,kafka-2:19092'),
        haproxy,
      ),
    ).toContainEqual(
      expect.stringMatching(/users: KAFKA_BROKERS kafka:19092,kafka-2:19092, not every node/),
    );
  });

  // HAProxy is Debian's package (`.ci/run` installs it); without it there is nothing to ask.
  const haproxyInstalled = spawnSync('haproxy', ['-v']).status === 0;
  (haproxyInstalled ? it : it.skip)('is a configuration HAProxy itself accepts', () => {
    const output = execFileSync('haproxy', ['-c', '-f', path.join(ROOT, 'deploy', 'haproxy.cfg')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toMatch(/Configuration file is valid/);
  });
});
