/**
 * The four subgraphs of The Guild's public gateways benchmark (accounts, inventory, products,
 * reviews), with @apollo/subgraph, on one HTTP server with one path per subgraph. Data and the
 * reference behaviours come from `../shared/bench/gateways-benchmark/` (see its README.md).
 *
 *   npx tsx bench/gateways-benchmark/subgraphs.ts [--port 4200] [--host 127.0.0.1]
 *
 * Prints the URLs once listening; stops on SIGINT/SIGTERM, or when the benchmark that started it
 * (over an IPC channel, see processes.ts) goes away.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { parse } from 'graphql';
import { createGraphQLHttpServer, type GraphQLHttpServer } from '../../lib/http-server';
import { serveParent, toParent } from './processes';

/** The shared data folder, found from the repository root (`<repo>/../shared/...`). */
export const BENCHMARK_DIR = resolve(__dirname, '../../../shared/bench/gateways-benchmark');

interface User {
  id: string;
  name: string;
  username: string;
  birthday: number;
}
interface Review {
  id: string;
  body: string;
  upc: string;
}
interface Product {
  upc: string;
  name: string;
  price: number;
  weight: number;
}
interface BenchmarkData {
  users: User[];
  reviews: Review[];
  products: Product[];
  stock: Record<string, boolean>;
}

export function readBenchmarkData(dir = BENCHMARK_DIR): BenchmarkData {
  return JSON.parse(readFileSync(join(dir, 'data.json'), 'utf8')) as BenchmarkData;
}

const FEDERATION = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides"])`;

type Resolvers = GraphQLResolverMap<BaseContext>;

export function subgraphDefinitions(data: BenchmarkData) {
  const [firstUser] = data.users;
  const firstTwoReviews = data.reviews.slice(0, 2).map((r) => ({ ...r }));
  const reviewView = (r: Review) => ({ id: r.id, body: r.body, upc: r.upc });

  const accounts = {
    typeDefs: `${FEDERATION}
      type Query { me: User user(id: ID!): User users: [User] }
      type User @key(fields: "id") { id: ID! name: String username: String birthday: Int }`,
    resolvers: {
      Query: {
        me: () => firstUser,
        user: (_: unknown, { id }: { id: string }) => data.users.find((u) => u.id === id),
        users: () => data.users,
      },
      User: {
        __resolveReference: (ref: { id: string }) => data.users.find((u) => u.id === ref.id),
      },
    } as Resolvers,
  };

  // Its own price and weight are unknown (only `@requires` would bring them), so, like the
  // reference implementation, shippingEstimate is computed from nothing: null.
  const inventory = {
    typeDefs: `${FEDERATION}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`,
    resolvers: {
      Product: {
        __resolveReference: (ref: { upc: string }) => ({
          upc: ref.upc,
          inStock: data.stock[ref.upc] ?? null,
          price: null,
          weight: null,
        }),
        shippingEstimate: (p: { price: number | null; weight: number | null }) => {
          if (p.price === null) return null;
          if (p.price > 1000) return 0;
          return p.weight === null ? null : p.weight / 2;
        },
      },
    } as Resolvers,
  };

  const products = {
    typeDefs: `${FEDERATION}
      type Query { topProducts(first: Int = 5): [Product] }
      type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }`,
    resolvers: {
      Query: {
        topProducts: (_: unknown, { first }: { first: number }) => data.products.slice(0, first),
      },
      Product: {
        __resolveReference: (ref: { upc: string }) => data.products.find((p) => p.upc === ref.upc),
      },
    } as Resolvers,
  };

  // Review.author is always user 1 (`urigo`, provided); User.reviews is the first two reviews.
  const author = { id: '1', username: 'urigo' };
  const reviews = {
    typeDefs: `${FEDERATION}
      type Review @key(fields: "id") {
        id: ID!
        body: String
        product: Product
        author: User @provides(fields: "username")
      }
      type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
      type Product @key(fields: "upc") { upc: String! reviews: [Review] }`,
    resolvers: {
      Review: {
        __resolveReference: (ref: { id: string }) => data.reviews.find((r) => r.id === ref.id),
        product: (r: Review) => ({ upc: r.upc }),
        author: () => author,
      },
      User: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id, username: 'user' }),
        reviews: () => firstTwoReviews.map(reviewView),
      },
      Product: {
        __resolveReference: (ref: { upc: string }) => ({ upc: ref.upc }),
        reviews: (p: { upc: string }) => data.reviews.filter((r) => r.upc === p.upc),
      },
    } as Resolvers,
  };

  return { accounts, inventory, products, reviews };
}

export const SUBGRAPH_NAMES = ['accounts', 'inventory', 'products', 'reviews'] as const;

export interface BenchmarkSubgraphs {
  /** Listens; resolves with the base URL (`http://127.0.0.1:4200`); subgraphs are under `/<name>`. */
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

export function createBenchmarkSubgraphs(
  options: { host?: string; port?: number; dir?: string } = {},
): BenchmarkSubgraphs {
  const definitions = subgraphDefinitions(readBenchmarkData(options.dir));
  const servers = SUBGRAPH_NAMES.map((name) => {
    const { typeDefs, resolvers } = definitions[name];
    const apollo = new ApolloServer({
      schema: buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers }]),
      nodeEnv: 'production',
      stopOnTerminationSignals: false,
      // Federated traces are only for Apollo's usage reporting, which no gateway here uses.
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    return { name, apollo };
  });
  // One listening server; the other subgraphs' handlers (lib/http-server.ts, never started
  // themselves) are reached through its routes, so each path gets the same HTTP handling.
  const handlers = new Map<string, GraphQLHttpServer>();
  for (const { name, apollo } of servers.slice(1)) {
    handlers.set(
      name,
      createGraphQLHttpServer({ apollo, context: async () => ({}), path: `/${name}` }),
    );
  }
  const [first] = servers;
  if (!first) throw new Error('no subgraph');
  const main = createGraphQLHttpServer({
    apollo: first.apollo,
    context: async () => ({}),
    path: `/${first.name}`,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    routes: Object.fromEntries(
      [...handlers].map(([name, handler]) => [
        `/${name}`,
        (req, res) => void handler.server.emit('request', req, res),
      ]),
    ),
  });

  return {
    async start() {
      for (const { apollo } of servers) await apollo.start();
      const { port } = await main.start();
      return { url: `http://${options.host ?? '127.0.0.1'}:${port}`, port };
    },
    async stop() {
      await main.stop();
      for (const { apollo } of servers) await apollo.stop();
    },
  };
}

/** The benchmark's supergraph with its subgraph URLs pointed at `baseUrl`. */
export function benchmarkSupergraph(baseUrl: string, dir = BENCHMARK_DIR): string {
  return readFileSync(join(dir, 'supergraph.graphql'), 'utf8').replaceAll(
    'http://127.0.0.1:4200',
    baseUrl,
  );
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '4200' }, host: { type: 'string' } },
  });
  const subgraphs = createBenchmarkSubgraphs({
    port: Number(values.port),
    host: values.host ?? '127.0.0.1',
  });
  serveParent(() => subgraphs.stop());
  subgraphs.start().then(
    ({ url }) => {
      console.log(`Benchmark subgraphs at ${SUBGRAPH_NAMES.map((n) => `${url}/${n}`).join(' ')}`);
      void toParent({ type: 'listening', url });
    },
    (error: unknown) => {
      const message = `Subgraphs failed to start: ${(error as Error).message}`;
      console.error(message);
      void toParent({ type: 'error', message }).then(() => process.exit(1));
    },
  );
}
