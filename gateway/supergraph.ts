/**
 * The supergraph the gateway serves: read from a file once at start, checked, and the list of
 * subgraphs (name and routing URL) read from its `join__Graph` enum.
 */
import { readFile } from 'node:fs/promises';
import { Kind, parse, print, visit, type DocumentNode } from 'graphql';

/** One subgraph as the supergraph routes to it. */
export interface SubgraphEndpoint {
  name: string;
  url: string;
}

/** A supergraph file that is missing, unreadable or not a supergraph; the message is one line. */
export class SupergraphError extends Error {
  override readonly name = 'SupergraphError';
}

/**
 * Reads and checks a supergraph SDL file.
 * @throws {SupergraphError} naming the path, in one line, when the file is missing or invalid.
 */
export async function readSupergraphFile(path: string): Promise<string> {
  let sdl: string;
  try {
    sdl = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new SupergraphError(`Cannot read the supergraph at ${path}: ${reason}`);
  }
  try {
    listSubgraphs(sdl);
  } catch (error) {
    throw new SupergraphError(`The supergraph at ${path} is invalid: ${oneLine(error)}`);
  }
  return sdl;
}

/**
 * The subgraphs named in a supergraph's `join__Graph` enum, in declaration order.
 * @throws {Error} when the SDL does not parse or declares no subgraph.
 */
export function listSubgraphs(supergraphSdl: string | DocumentNode): SubgraphEndpoint[] {
  const document = typeof supergraphSdl === 'string' ? parse(supergraphSdl) : supergraphSdl;
  const endpoints: SubgraphEndpoint[] = [];
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph')
      continue;
    for (const value of definition.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      const arg = (name: string) => {
        const node = directive?.arguments?.find((a) => a.name.value === name)?.value;
        return node?.kind === Kind.STRING ? node.value : undefined;
      };
      const name = arg('name');
      const url = arg('url');
      if (name === undefined || url === undefined) {
        throw new Error(`join__Graph value ${value.name.value} has no @join__graph(name:, url:)`);
      }
      endpoints.push({ name, url });
    }
  }
  if (endpoints.length === 0) throw new Error('it declares no subgraph (no join__Graph enum)');
  return endpoints;
}

/**
 * The supergraph with some subgraphs routed elsewhere, e.g. to other ports on this machine.
 * @throws {SupergraphError} naming an override for a subgraph the supergraph does not have.
 */
export function withSubgraphUrls(supergraphSdl: string, urls: Record<string, string>): string {
  const known = new Set(listSubgraphs(supergraphSdl).map((s) => s.name));
  const unknown = Object.keys(urls).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new SupergraphError(
      `GATEWAY_SUBGRAPH_URLS names ${unknown.join(', ')}, which the supergraph does not have (it has ${[...known].join(', ')})`,
    );
  }
  if (Object.keys(urls).length === 0) return supergraphSdl;
  const document = visit(parse(supergraphSdl), {
    Directive(node) {
      if (node.name.value !== 'join__graph') return undefined;
      const nameArg = node.arguments?.find((a) => a.name.value === 'name')?.value;
      const name = nameArg?.kind === Kind.STRING ? nameArg.value : undefined;
      const url = name === undefined ? undefined : urls[name];
      if (url === undefined) return undefined;
      return {
        ...node,
        arguments: node.arguments?.map((a) =>
          a.name.value === 'url' ? { ...a, value: { kind: Kind.STRING, value: url } } : a,
        ),
      };
    },
  });
  return print(document);
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim();
}
