/**
 * A real load balancer for tests: HAProxy (Debian's package, `.ci/run` installs it) in front of
 * replicas on 127.0.0.1, configured as `deploy/haproxy.cfg` is for docker-compose: round robin,
 * health checks on `/ready`, a refused connection retried on another replica, WebSockets
 * tunnelled. Each frontend listens on a free port.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { freePort, waitFor } from './helpers';

export interface LoadBalancer {
  /** `http://127.0.0.1:<port>` of a frontend. */
  url(frontend: string): string;
  /** What HAProxy printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy with one frontend per entry of `backends` (name -> its port and the replicas'
 * ports; port 0 picks one), once each frontend has a replica up.
 */
export async function startLoadBalancer(
  backends: Record<string, { port: number; replicas: number[] }>,
  dir: string,
): Promise<LoadBalancer> {
  const ports: Record<string, number> = {};
  for (const [name, { port }] of Object.entries(backends)) ports[name] = port || (await freePort());
  const configFile = path.join(dir, `haproxy-${Object.values(ports).join('-')}.cfg`);
  writeFileSync(
    configFile,
    haproxyConfig(
      Object.fromEntries(Object.entries(backends).map(([name, b]) => [name, b.replicas])),
      ports,
    ),
  );
  const child = spawn('haproxy', ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => keep(Buffer.from(`haproxy could not start: ${error.message}`)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGUSR1'); // soft stop: finishes what it serves
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const url = (frontend: string) => `http://127.0.0.1:${ports[frontend]}`;
  try {
    for (const name of Object.keys(backends)) {
      await waitFor(`HAProxy's ${name} frontend to serve`, async () => {
        if (child.exitCode !== null) throw new Error(`haproxy exited: ${output}`);
        const ready = await fetch(`${url(name)}/ready`).catch(() => undefined);
        return ready?.status === 200;
      });
    }
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\nhaproxy printed:\n${output}`);
  }
  return { url, output: () => output, stop };
}

/** The configuration: `deploy/haproxy.cfg`'s settings, for local ports. */
export function haproxyConfig(
  backends: Record<string, number[]>,
  ports: Record<string, number>,
): string {
  const sections = Object.entries(backends).map(
    ([name, replicas]) => `
frontend ${name}
  bind 127.0.0.1:${ports[name]}
  default_backend ${name}

backend ${name}
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
${replicas.map((port, i) => `  server ${name}-${i + 1} 127.0.0.1:${port} check inter 500 fall 3 rise 2`).join('\n')}
`,
  );
  return `${HAPROXY_DEFAULTS}${sections.join('')}`;
}

/** `global` and `defaults` of deploy/haproxy.cfg: one set of settings for tests and compose. */
const HAPROXY_DEFAULTS = readFileSync(path.join(__dirname, '..', 'deploy', 'haproxy.cfg'), 'utf8')
  .split(/^frontend /m)[0]!
  // No request log on the test's output; connections within the file limit a test machine gives
  // (HAProxy needs two descriptors per connection).
  .replace(/^\s*(log|option httplog)\b.*$/gm, '')
  .replace(/^(\s*)maxconn \d+/m, '$1maxconn 400');
