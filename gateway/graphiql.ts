/**
 * Developer tools that work offline.
 *
 * Apollo Sandbox (Apollo Server's default landing page in development) loads from Apollo's CDN,
 * so it is blank without internet access. The gateway therefore also serves GraphiQL at
 * `/graphiql`, entirely from node_modules: graphiql 3's UMD bundle and CSS (the last major
 * version that ships one) with React 18's UMD builds (React 19 dropped them), and graphql-ws's
 * UMD client for subscriptions. The landing page gets a link to it in its "you might be offline"
 * fallback text.
 *
 * Queries and mutations go over HTTP, subscriptions over a graphql-ws socket on the same origin
 * (`ws(s)://<host>/graphql`); both carry the browser's session cookie, so after signing in at
 * `/auth/login` GraphiQL runs as the signed-in user, live subscriptions included (the gateway
 * accepts the cookie of a same-origin upgrade: gateway/websocket.ts). Headers set in GraphiQL's
 * editor (`authorization`, `x-identity`) go on HTTP requests and into `connection_init`.
 *
 * The assets (about 4 MB) are streamed from node_modules on each request rather than held in
 * memory: a gateway that nobody opens GraphiQL on keeps none of it.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Route } from '../lib/http-server';

/** Files of a package (resolved through its exported `package.json`, so `exports` maps are no obstacle). */
function packageFile(pkg: string, file: string): string {
  return join(dirname(require.resolve(`${pkg}/package.json`)), file);
}

const ASSETS = {
  'react.js': { pkg: 'react', file: 'umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.js': {
    pkg: 'react-dom',
    file: 'umd/react-dom.production.min.js',
    type: 'text/javascript',
  },
  'graphiql.js': { pkg: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript' },
  'graphiql.css': { pkg: 'graphiql', file: 'graphiql.min.css', type: 'text/css' },
  'graphql-ws.js': { pkg: 'graphql-ws', file: 'umd/graphql-ws.min.js', type: 'text/javascript' },
} as const;

function page(base: string, endpoint: string): string {
  // No inline event handlers or third-party origins: everything comes from this server.
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>GraphiQL</title>
    <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
    <link rel="stylesheet" href="${base}/graphiql.css" />
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="${base}/react.js"></script>
    <script src="${base}/react-dom.js"></script>
    <script src="${base}/graphiql.js"></script>
    <script src="${base}/graphql-ws.js"></script>
    <script>
      const url = new URL(${JSON.stringify(endpoint)}, location.href);
      const http = GraphiQL.createFetcher({ url: url.href });
      // Subscriptions: a graphql-ws socket on the same origin, one per set of editor headers
      // (they become the connection_init payload); with none, the session cookie signs it in.
      const sockets = new Map();
      const socketFor = (headers) => {
        const key = JSON.stringify(headers ?? {});
        let client = sockets.get(key);
        if (!client) {
          client = graphqlWs.createClient({
            url: url.href.replace(/^http/, 'ws'),
            connectionParams: headers ?? {},
            lazy: true,
            retryAttempts: Infinity,
            shouldRetry: () => true,
          });
          sockets.set(key, client);
        }
        return client;
      };
      const isSubscription = (params, documentAST) =>
        (documentAST?.definitions ?? []).some(
          (d) =>
            d.kind === 'OperationDefinition' &&
            d.operation === 'subscription' &&
            (!params.operationName || d.name?.value === params.operationName),
        );
      const fetcher = (params, options) =>
        isSubscription(params, options?.documentAST)
          ? socketFor(options?.headers).iterate(params)
          : http(params, options);
      // ?query=... opens with that operation, so a link can carry one.
      const query = new URLSearchParams(location.search).get('query');
      ReactDOM.createRoot(document.getElementById('graphiql')).render(
        React.createElement(GraphiQL, {
          fetcher,
          defaultEditorToolsVisibility: true,
          ...(query === null ? {} : { query }),
        }),
      );
    </script>
  </body>
</html>
`;
}

export interface GraphiQLRoutesOptions {
  /** Where the page is served. @default '/graphiql' */
  base?: string;
  /** The GraphQL endpoint the page talks to. @default '/graphql' */
  endpoint?: string;
}

/**
 * Routes for lib/http-server.ts serving GraphiQL: the page at `base` and its five assets under it.
 * The files are found here, and read when asked for.
 * @throws when graphiql, react or react-dom is not installed.
 */
export async function createGraphiQLRoutes(
  options: GraphiQLRoutesOptions = {},
): Promise<Record<string, Route>> {
  const base = options.base ?? '/graphiql';
  const endpoint = options.endpoint ?? '/graphql';
  /** Answers GET and HEAD with `write(res)` as the body of `length` bytes. */
  const send =
    (
      length: number,
      type: string,
      cache: string,
      write: (res: Parameters<Route>[1]) => void,
    ): Route =>
    (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' });
        res.end();
        return;
      }
      res.writeHead(200, {
        'content-type': `${type}; charset=utf-8`,
        'content-length': length,
        'cache-control': cache,
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') res.end();
      else write(res);
    };
  const html = Buffer.from(page(base, endpoint));
  const routes: Record<string, Route> = {
    [base]: send(html.length, 'text/html', 'no-cache', (res) => res.end(html)),
  };
  await Promise.all(
    Object.entries(ASSETS).map(async ([name, asset]) => {
      const file = packageFile(asset.pkg, asset.file);
      const { size } = await stat(file);
      routes[`${base}/${name}`] = send(size, asset.type, 'public, max-age=3600', (res) => {
        // A file that vanished mid-way cuts the response short rather than sending a wrong one.
        createReadStream(file)
          .on('error', (error) => res.destroy(error))
          .pipe(res);
      });
    }),
  );
  return routes;
}

/**
 * Apollo's local landing page (embedded Sandbox), with a link to the offline GraphiQL in the text
 * it shows when Sandbox cannot load.
 */
export function landingPageWithGraphiQLLink<TContext extends BaseContext>(
  graphiqlPath = '/graphiql',
): ApolloServerPlugin<TContext> {
  const inner = ApolloServerPluginLandingPageLocalDefault({ footer: false, embed: true });
  const link = `<p>Offline? <a href="${graphiqlPath}">Open GraphiQL</a>, served by this gateway.</p>`;
  const withLink = (html: string) => {
    const marker = 'might be offline.</p>';
    const at = html.indexOf(marker);
    if (at === -1) return html.replace('</body>', `${link}</body>`);
    return html.slice(0, at + marker.length) + link + html.slice(at + marker.length);
  };
  return {
    async serverWillStart(service) {
      const listener = await inner.serverWillStart?.(service);
      if (!listener?.renderLandingPage) return listener;
      const render = listener.renderLandingPage.bind(listener);
      return {
        ...listener,
        async renderLandingPage() {
          const landingPage = await render();
          const { html } = landingPage;
          return {
            html: typeof html === 'string' ? withLink(html) : async () => withLink(await html()),
          };
        },
      };
    },
  };
}
