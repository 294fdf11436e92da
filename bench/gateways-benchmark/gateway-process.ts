/**
 * One gateway of the benchmark, in a process of its own so its CPU and memory are its own:
 *
 *   node --import tsx bench/gateways-benchmark/gateway-process.ts --kind ours|plain
 *     (--subgraphs URL | --supergraph FILE --identity --internal-token-secret-file FILE)
 *
 * - `ours`: `createGateway` from gateway/ (production mode, as deployed);
 * - `plain`: `@apollo/gateway` + `@apollo/server`'s `startStandaloneServer`, all defaults.
 *
 * With `--subgraphs`, both serve the public benchmark's supergraph with its subgraph URLs pointed
 * there (ours signs its internal token with a random key, which those subgraphs ignore). With
 * `--supergraph`, they serve that file: the platform graph, composed by the parent, whose
 * subgraphs refuse requests without an internal token (contracts/internal-token.ts) signed
 * with the key in `--internal-token-secret-file`. `--identity` makes the caller's development
 * `x-identity` header reach the subgraphs as that token's identity: ours with
 * `authenticate: developmentIdentityHeader` (gateway/identity.ts), plain by signing the token
 * once per request in its context function and a `RemoteGraphQLDataSource` whose
 * `willSendRequest` copies it onto each subgraph request (its only change from the defaults).
 * Both listen on 127.0.0.1 and a free port, and report `{ type: 'listening', url }` to the parent.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ApolloGateway,
  RemoteGraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGateway } from '../../gateway/gateway';
import { developmentIdentityHeader } from '../../gateway/identity';
import { createLogger } from '../../lib/logger';
import { IDENTITY_HEADER, parseIdentityHeader } from '../../contracts/identity';
import { INTERNAL_TOKEN_HEADER, signInternalToken } from '../../contracts/internal-token';
import { serveParent, toParent } from './processes';
import { benchmarkSupergraph } from './subgraphs';

export type GatewayKind = 'ours' | 'plain';

/** How the gateway passes the caller on to the subgraphs (`--identity`), or undefined. */
interface IdentityOptions {
  internalTokenSecret: string;
}

async function startOurs(supergraphSdl: string, identity: IdentityOptions | undefined) {
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
    // Required; the public benchmark's subgraphs ignore the token, so any key does there.
    internalTokenSecret: identity?.internalTokenSecret ?? randomBytes(48).toString('base64url'),
    ...(identity ? { authenticate: developmentIdentityHeader } : {}),
  });
  const { url } = await gateway.start();
  return { url, stop: () => gateway.stop() };
}

/** The plain gateway's context: the internal token for this request's subgraph calls. */
interface PlainContext {
  internalToken?: string;
}

/** Copies the request's internal token (signed in the context function) onto each subgraph call. */
class InternalTokenDataSource extends RemoteGraphQLDataSource<PlainContext> {
  override willSendRequest(options: GraphQLDataSourceProcessOptions<PlainContext>): void {
    const token: unknown = options.context.internalToken;
    if (typeof token === 'string') options.request.http?.headers.set(INTERNAL_TOKEN_HEADER, token);
  }
}

async function startPlain(supergraphSdl: string, identity: IdentityOptions | undefined) {
  if (identity === undefined) {
    const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
    const { url } = await startStandaloneServer(server, {
      listen: { host: '127.0.0.1', port: 0 },
    });
    return { url, stop: () => server.stop() };
  }
  const server = new ApolloServer<PlainContext>({
    gateway: new ApolloGateway({
      supergraphSdl,
      buildService: ({ url }) => new InternalTokenDataSource(url === undefined ? {} : { url }),
    }),
  });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    // As ours does: the caller from the development header (a malformed one fails the request),
    // one token per incoming request.
    context: async ({ req }) => ({
      internalToken: await signInternalToken(
        identity.internalTokenSecret,
        parseIdentityHeader(req.headers[IDENTITY_HEADER]),
      ),
    }),
  });
  return { url, stop: () => server.stop() };
}

async function main() {
  const { values } = parseArgs({
    options: {
      kind: { type: 'string' },
      subgraphs: { type: 'string' },
      supergraph: { type: 'string' },
      identity: { type: 'boolean', default: false },
      'internal-token-secret-file': { type: 'string' },
    },
  });
  const kind = values.kind;
  const secretFile = values['internal-token-secret-file'];
  const withIdentity = values.identity === true;
  if (
    (kind !== 'ours' && kind !== 'plain') ||
    (values.subgraphs === undefined) === (values.supergraph === undefined) ||
    withIdentity !== (secretFile !== undefined)
  ) {
    throw new Error(
      'usage: gateway-process.ts --kind ours|plain (--subgraphs http://host:port | --supergraph FILE [--identity --internal-token-secret-file FILE])',
    );
  }
  const supergraphSdl =
    values.supergraph === undefined
      ? benchmarkSupergraph(values.subgraphs ?? '')
      : readFileSync(values.supergraph, 'utf8');
  const identity =
    secretFile === undefined
      ? undefined
      : { internalTokenSecret: readFileSync(secretFile, 'utf8').trim() };
  const started = await (kind === 'ours' ? startOurs : startPlain)(supergraphSdl, identity);
  serveParent(started.stop);
  await toParent({ type: 'listening', url: started.url });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(message);
  void toParent({ type: 'error', message }).then(() => process.exit(1));
});
