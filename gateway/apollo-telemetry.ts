/**
 * Apollo's anonymous "data collection" telemetry in @apollo/gateway 2.14, and what it costs an
 * idle gateway.
 *
 * `ApolloGateway`'s constructor starts an OpenTelemetry meter provider that reports the
 * gateway's version, uptime, CPU and memory to `usage-reporting.api.apollographql.com` every
 * hour, unless `APOLLO_TELEMETRY_DISABLED` is `true`. Either way, its
 * `dist/utilities/opentelemetry.js` requires at load the OpenTelemetry metrics SDK, four cloud
 * resource detectors and the OTLP exporter with its generated protobuf code: about 230 modules
 * and 10 MB of an idle gateway's RSS (`npm run bench:memory`), used only by that meter provider.
 *
 * Importing this module (gateway.ts does, before @apollo/gateway) defers those requires of
 * that one file to their first use: with the telemetry off (our default, APOLLO_TELEMETRY_DISABLED
 * in config/) they are never loaded; with it on, the constructor loads them as before.
 * Everything else loads as it did; the tracer (`@opentelemetry/api`) is not deferred.
 */
import Module from 'node:module';

/** The file of @apollo/gateway whose requires are deferred. */
const TELEMETRY_FILE = /[\\/]@apollo[\\/]gateway[\\/]dist[\\/]utilities[\\/]opentelemetry\.js$/;

/** What that file requires for the meter provider only. */
export const DEFERRED_TELEMETRY_MODULES: readonly string[] = [
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/resources',
  '@opentelemetry/resource-detector-alibaba-cloud',
  '@opentelemetry/resource-detector-aws',
  '@opentelemetry/resource-detector-gcp',
  '@opentelemetry/resource-detector-azure',
  '@opentelemetry/exporter-metrics-otlp-http',
];

/** Node's CommonJS loader; `_load` is what every `require` goes through. */
type Loader = {
  _load(
    request: string,
    parent: { filename?: string | null } | undefined,
    isMain: boolean,
  ): unknown;
};

const loader = Module as unknown as Loader & Record<symbol, boolean | undefined>;
/** Marks the loader once patched, should this module be loaded twice (source and dist/). */
const DEFERRED = Symbol.for('interview-graph.deferred-apollo-telemetry');

function deferTelemetryRequires(): void {
  if (loader[DEFERRED]) return;
  loader[DEFERRED] = true;
  const load = loader._load;
  const lazy = new Set(DEFERRED_TELEMETRY_MODULES);
  loader._load = function (request, parent, isMain) {
    if (!lazy.has(request) || !TELEMETRY_FILE.test(parent?.filename ?? '')) {
      return load.call(this, request, parent, isMain);
    }
    // The file reads properties of these modules only inside the meter provider's functions.
    let real: Record<PropertyKey, unknown> | undefined;
    const module = () => (real ??= load.call(this, request, parent, isMain) as typeof real) ?? {};
    return new Proxy(
      {},
      {
        get: (_target, key) => module()[key],
        has: (_target, key) => key in module(),
      },
    );
  };
}

deferTelemetryRequires();

/**
 * Turns Apollo's telemetry on or off for the ApolloGateway instances constructed next. It reads
 * `process.env.APOLLO_TELEMETRY_DISABLED` in its constructor and has no option for it, so this
 * sets that variable from our configuration (config/: APOLLO_TELEMETRY_DISABLED).
 */
export function setApolloTelemetry(enabled: boolean): void {
  // eslint-disable-next-line no-restricted-properties -- the only interface ApolloGateway has
  process.env.APOLLO_TELEMETRY_DISABLED = enabled ? 'false' : 'true';
}
