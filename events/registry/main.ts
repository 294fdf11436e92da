/**
 * The embedded schema registry as a process, for development without a real registry:
 * `node --import tsx events/registry/main.ts [--port N] [--host H]` (a free port on 127.0.0.1 by
 * default). It prints `SCHEMA_REGISTRY_URL=<url>` on stdout once it listens, and stops on
 * SIGINT or SIGTERM. Its schemas live in memory: a restart forgets them, and producers register
 * theirs again on first use (they cache ids per process, so restart them too).
 */
import { parseArgs } from 'node:util';
import { silentLogger } from '../../lib/logger';
import { runMain, stopOnSignals } from '../../lib/process';
import { startEmbeddedRegistry } from './embedded';

runMain('the embedded schema registry', async () => {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' } },
  });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`--port must be a port number (0: a free one), not ${values.port}`);
  const registry = await startEmbeddedRegistry({
    port,
    ...(values.host === undefined ? {} : { host: values.host }),
  });
  stopOnSignals('embedded schema registry', () => registry.stop(), silentLogger);
  process.stdout.write(`SCHEMA_REGISTRY_URL=${registry.url}\n`);
});
