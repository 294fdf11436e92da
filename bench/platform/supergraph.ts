/** The platform's supergraph, composed for the subgraphs' actual URLs. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

export const PLATFORM_SUBGRAPHS = ['users', 'interviews', 'reporting'] as const;
export type PlatformSubgraphName = (typeof PLATFORM_SUBGRAPHS)[number];

const SUBGRAPHS_DIR = resolve(__dirname, '../../subgraphs');

/** Composes `subgraphs/<name>/schema.graphql` with each subgraph routed to `urls[name]`. */
export function composePlatformSupergraph(urls: Record<PlatformSubgraphName, string>): string {
  const composed = composeServices(
    PLATFORM_SUBGRAPHS.map((name) => ({
      name,
      url: urls[name],
      typeDefs: parse(readFileSync(join(SUBGRAPHS_DIR, name, 'schema.graphql'), 'utf8')),
    })),
  );
  if (composed.errors) {
    throw new Error(`composition failed:\n${composed.errors.map((e) => e.message).join('\n')}`);
  }
  return composed.supergraphSdl;
}
