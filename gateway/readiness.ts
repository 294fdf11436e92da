/**
 * Subgraph readiness: each subgraph is probed with `{ __typename }` every `intervalMs`; the
 * gateway is ready while every subgraph answered such a probe within the last `maxAgeMs`.
 *
 * A subgraph that stops answering turns the gateway unready only after `maxAgeMs`, so a blip
 * does not take every gateway replica out of a load balancer at once.
 */
import type { Fetcher } from '@apollo/utils.fetcher';
import type { Logger } from '../lib/logger';
import type { SubgraphEndpoint } from './supergraph';

/** Which subgraphs {@link createSubgraphProbes} probes, and how often. */
export interface SubgraphProbeOptions {
  subgraphs: SubgraphEndpoint[];
  fetcher: Fetcher;
  logger: Logger;
  /** Time between probes of one subgraph. @default 5_000 */
  intervalMs?: number;
  /** How recent the last good answer must be. @default 3 × intervalMs */
  maxAgeMs?: number;
  /** A probe not answered within this fails. @default 2_000 */
  timeoutMs?: number;
}

interface State {
  lastOkAt: number | undefined;
  last: string;
}

const PROBE_BODY = JSON.stringify({ query: '{ __typename }' });

/**
 * Probes for `options.subgraphs`: see the module's comment. Nothing runs before `start()`; a
 * failed probe never throws, it shows in `report()` and is logged when the outcome changes.
 */
export function createSubgraphProbes(options: SubgraphProbeOptions) {
  const intervalMs = options.intervalMs ?? 5_000;
  const maxAgeMs = options.maxAgeMs ?? 3 * intervalMs;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const states = new Map<string, State>(
    options.subgraphs.map((s) => [s.name, { lastOkAt: undefined, last: 'not probed yet' }]),
  );
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const probe = async ({ name, url }: SubgraphEndpoint): Promise<void> => {
    const state = states.get(name);
    if (!state) return;
    let outcome: string;
    try {
      const response = await options.fetcher(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: PROBE_BODY,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body: unknown = await response.json().catch(() => undefined);
      const data = (body as { data?: { __typename?: unknown } } | undefined)?.data;
      outcome =
        response.ok && data?.__typename !== undefined
          ? 'ok'
          : `unexpected answer (HTTP ${response.status})`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      outcome = `unreachable (${(error as { code?: string }).code ?? cause ?? (error as Error).message})`;
    }
    if (outcome === 'ok') state.lastOkAt = Date.now();
    if (outcome !== state.last) {
      const log = outcome === 'ok' ? options.logger.info : options.logger.warn;
      log('subgraph probe', { subgraph: name, url, state: outcome });
    }
    state.last = outcome;
  };

  const probeAll = async () => {
    await Promise.all(options.subgraphs.map(probe));
  };

  return {
    /** Probes every subgraph now and then every `intervalMs`; resolves after the first round. */
    async start(): Promise<void> {
      stopped = false;
      const tick = () => {
        running = probeAll().finally(() => {
          if (!stopped) timer = setTimeout(tick, intervalMs);
        });
        return running;
      };
      await tick();
    },
    /** Ends the probing; resolves once the round in progress is done. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    /** Per subgraph: `ok`, or why it is not (`unreachable (ECONNREFUSED)`, `stale, ...`); `ready` when all are ok. */
    report(): { ready: boolean; checks: Record<string, string> } {
      const now = Date.now();
      const checks: Record<string, string> = {};
      let ready = true;
      for (const [name, state] of states) {
        const okUntil = (state.lastOkAt ?? -Infinity) + maxAgeMs;
        if (now > okUntil) {
          ready = false;
          checks[name] = state.lastOkAt === undefined ? state.last : `stale, ${state.last}`;
        } else {
          checks[name] =
            state.last === 'ok'
              ? 'ok'
              : `ok until ${new Date(okUntil).toISOString()}, last probe ${state.last}`;
        }
      }
      return { ready, checks };
    },
  };
}
