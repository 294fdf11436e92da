/**
 * One gateway of the benchmark, in a process of its own so its CPU and memory are its own:
 *
 *   node --import tsx bench/gateways-benchmark/gateway-process.ts --kind ours|plain --subgraphs URL
 *
 * - `ours`: `createGateway` from gateway/ (production mode, as deployed);
 * - `plain`: `@apollo/gateway` + `@apollo/server`'s `startStandaloneServer`, all defaults.
 *
 * Both serve the benchmark's supergraph with its subgraph URLs pointed at `--subgraphs`, on
 * 127.0.0.1 and a free port, and report `{ type: 'listening', url }` to the parent.
 */
import { parseArgs } from 'node:util';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGateway } from '../../gateway/gateway';
import { createLogger } from '../../lib/logger';
import { serveParent, toParent } from './processes';
import { benchmarkSupergraph } from './subgraphs';

export type GatewayKind = 'ours' | 'plain';

async function startOurs(supergraphSdl: string) {
  const gateway = createGateway({
    supergraphSdl,
    host: '127.0.0.1',
    port: 0,
    maxDepth: 12,
    maxFields: 1000,
    maxBodyBytes: 102_400,
    corsOrigins: [],
    production: true,
    logger: createLogger('warn', { service: 'gateway' }),
  });
  const { url } = await gateway.start();
  return { url, stop: () => gateway.stop() };
}

async function startPlain(supergraphSdl: string) {
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return { url, stop: () => server.stop() };
}

async function main() {
  const { values } = parseArgs({
    options: { kind: { type: 'string' }, subgraphs: { type: 'string' } },
  });
  const kind = values.kind;
  if ((kind !== 'ours' && kind !== 'plain') || values.subgraphs === undefined) {
    throw new Error('usage: gateway-process.ts --kind ours|plain --subgraphs http://host:port');
  }
  const supergraphSdl = benchmarkSupergraph(values.subgraphs);
  const started = await (kind === 'ours' ? startOurs : startPlain)(supergraphSdl);
  serveParent(started.stop);
  await toParent({ type: 'listening', url: started.url });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(message);
  void toParent({ type: 'error', message }).then(() => process.exit(1));
});
