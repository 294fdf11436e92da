/**
 * `npm run compose`: composes the subgraphs listed in `supergraph.yaml` (Rover's supergraph
 * config format) into `supergraph.graphql` with `@apollo/composition`, the library Rover runs,
 * because Rover cannot compose offline (it downloads its composition plugin).
 *
 * Flags:
 *   --config PATH   the supergraph config (default: `<repo>/supergraph.yaml`)
 *   --out PATH      where the supergraph SDL goes (default: `<repo>/supergraph.graphql`)
 *   --check         write nothing; exit 1 when the file at --out differs from a fresh composition
 *
 * Exit codes: 0 composed (or up to date), 1 invalid config, schema or composition, or stale
 * output, 2 bad flags.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { composeServices } from '@apollo/composition';
import { version as compositionVersion } from '@apollo/composition/package.json';
import { GraphQLError, Source, getLocation, parse, type ASTNode, type DocumentNode } from 'graphql';
import { LineCounter, parseDocument } from 'yaml';

/** The outcome of {@link composeSupergraph}; every message is one human-readable line. */
export type ComposeResult =
  { ok: true; supergraphSdl: string; hints: string[] } | { ok: false; errors: string[] };

/** One subgraph of a supergraph config, validated. */
export interface SubgraphEntry {
  /** The key under `subgraphs`, e.g. `users`. */
  name: string;
  /** `routing_url`: where the router sends this subgraph's requests. */
  routingUrl: string;
  /** `schema.file`, resolved to an absolute path (it is relative to the config's folder). */
  schemaFile: string;
}

/** Either a value, or every problem found, one human-readable line each. */
export type Checked<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const REPO_ROOT = path.resolve(__dirname, '..');
const DEFAULT_CONFIG = path.join(REPO_ROOT, 'supergraph.yaml');
const DEFAULT_OUT = path.join(REPO_ROOT, 'supergraph.graphql');

/**
 * Reads `configPath`, validates it, parses every subgraph's SDL and composes them.
 *
 * Never throws for a problem in the inputs: a missing or malformed config, a missing schema
 * file, a GraphQL syntax error or a composition error all come back as `{ ok: false, errors }`,
 * with every problem found at that stage listed (one line each), so a run fixes them all at once.
 *
 * @param configPath - the supergraph config; `schema.file` paths are relative to its folder.
 */
export function composeSupergraph(configPath: string): ComposeResult {
  const config = readSupergraphConfig(configPath);
  if (!config.ok) return config;
  const services = parseSubgraphs(config.value);
  if (!services.ok) return services;

  // Locations in composition errors carry the Source name we gave each SDL (its file path);
  // this maps them back to the subgraph for errors whose AST nodes lack the subgraph tag.
  const subgraphByFile = new Map(config.value.map((s) => [s.schemaFile, s.name]));
  const result = composeServices(services.value);
  if (result.errors !== undefined) {
    return {
      ok: false,
      errors: result.errors.map((error) =>
        formatDiagnostic(
          typeof error.extensions['code'] === 'string' ? error.extensions['code'] : 'UNKNOWN',
          error.message,
          error.nodes ?? [],
          subgraphByFile,
        ),
      ),
    };
  }
  return {
    ok: true,
    supergraphSdl: result.supergraphSdl,
    hints: result.hints.map((hint) =>
      formatDiagnostic(hint.definition.code, hint.message, hint.nodes ?? [], subgraphByFile),
    ),
  };
}

/**
 * What `npm run compose` writes for a composed SDL: the SDL with exactly one final newline, as
 * editors and `git diff` expect.
 */
export function supergraphFileContent(supergraphSdl: string): string {
  return `${supergraphSdl.trimEnd()}\n`;
}

/**
 * Reads and validates a supergraph config in Rover's format: `federation_version` (optional; `2`
 * or the installed composer's exact `=x.y.z`) and `subgraphs.<name>.routing_url` and
 * `.schema.file` for each subgraph, whose file must exist. Shared with `codegen.ts`, so both
 * tools see the same subgraphs.
 *
 * @param file - the config; resolved against the working directory when relative.
 */
export function readSupergraphConfig(file: string): Checked<SubgraphEntry[]> {
  const configPath = path.resolve(file);
  const shown = displayPath(configPath);
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return fail(`${shown}: supergraph config not found (looked for ${configPath})`);
    if (code === 'EISDIR') return fail(`${shown}: is a directory, not a supergraph config`);
    return fail(`${shown}: cannot read: ${(error as Error).message}`);
  }

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        return `${shown}:${line}:${col}: invalid YAML: ${error.message}`;
      }),
    };
  }

  const root: unknown = doc.toJS();
  if (!isRecord(root))
    return fail(`${shown}: expected a mapping with "subgraphs" at the top level`);

  const errors: string[] = [];
  const versionProblem = checkFederationVersion(root['federation_version']);
  if (versionProblem !== undefined) errors.push(`${shown}: ${versionProblem}`);

  const subgraphs = root['subgraphs'];
  if (!isRecord(subgraphs) || Object.keys(subgraphs).length === 0) {
    errors.push(`${shown}: "subgraphs" must be a mapping of subgraph names to their settings`);
    return { ok: false, errors };
  }

  const configDir = path.dirname(configPath);
  const entries: SubgraphEntry[] = [];
  for (const [name, raw] of Object.entries(subgraphs)) {
    const where = `${shown}: subgraph "${name}"`;
    if (!isRecord(raw)) {
      errors.push(`${where}: expected a mapping with routing_url and schema.file`);
      continue;
    }
    const routingUrl = raw['routing_url'];
    if (typeof routingUrl !== 'string' || routingUrl.trim() === '') {
      errors.push(`${where}: routing_url is missing (the URL the router sends its requests to)`);
    } else if (!isHttpUrl(routingUrl)) {
      errors.push(`${where}: routing_url "${routingUrl}" is not an http(s) URL`);
    }
    const schema = raw['schema'];
    const file = isRecord(schema) ? schema['file'] : undefined;
    let schemaFile: string | undefined;
    if (typeof file !== 'string' || file.trim() === '') {
      // Rover can also introspect a running subgraph (subgraph_url) or fetch from GraphOS
      // (graphref); neither works offline, so only a file is accepted.
      errors.push(
        `${where}: schema.file is missing (a path to its SDL, relative to the folder of ${shown})`,
      );
    } else {
      schemaFile = path.resolve(configDir, file);
      if (!isFile(schemaFile)) {
        errors.push(`${where}: schema file "${file}" not found (looked for ${schemaFile})`);
      }
    }
    if (typeof routingUrl === 'string' && schemaFile !== undefined) {
      entries.push({ name, routingUrl, schemaFile });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: entries };
}

/**
 * Rover's `federation_version` is `1`, `2` or an exact `=2.x.y`. We compose with the installed
 * `@apollo/composition` only, so an exact pin must name that version: a supergraph silently
 * composed by another version than the config asks for would be a lie in the checked-in file.
 */
function checkFederationVersion(value: unknown): string | undefined {
  if (value === undefined || value === 2 || value === '2') return undefined;
  const installed = `@apollo/composition ${compositionVersion} is installed`;
  if (value === 1 || value === '1') {
    return `federation_version 1 is not supported: only Federation 2 composes here (${installed})`;
  }
  if (typeof value === 'string' && value.startsWith('=')) {
    if (value.slice(1) === compositionVersion) return undefined;
    return `federation_version ${value} does not match the composer: ${installed}; update one of them`;
  }
  return `federation_version must be 2 or an exact "=${compositionVersion}", got ${JSON.stringify(value)}`;
}

function parseSubgraphs(
  entries: SubgraphEntry[],
): Checked<{ name: string; url: string; typeDefs: DocumentNode }[]> {
  const errors: string[] = [];
  const services: { name: string; url: string; typeDefs: DocumentNode }[] = [];
  for (const { name, routingUrl, schemaFile } of entries) {
    const shown = displayPath(schemaFile);
    let sdl: string;
    try {
      sdl = readFileSync(schemaFile, 'utf8');
    } catch (error) {
      errors.push(`subgraph "${name}": cannot read ${shown}: ${(error as Error).message}`);
      continue;
    }
    try {
      services.push({ name, url: routingUrl, typeDefs: parse(new Source(sdl, schemaFile)) });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const at = error.locations?.[0];
      const position = at === undefined ? '' : `:${at.line}:${at.column}`;
      errors.push(`subgraph "${name}": ${shown}${position}: ${error.message}`);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: services };
}

/**
 * One line: `CODE [subgraphs]: message (at file:line:col, ...)`. Multi-line messages (e.g.
 * satisfiability errors, which print an example query) are folded so each error stays a line.
 */
function formatDiagnostic(
  code: string,
  rawMessage: string,
  nodes: readonly ASTNode[],
  subgraphByFile: ReadonlyMap<string, string>,
): string {
  const subgraphs = new Set<string>();
  // Errors raised while validating one subgraph are prefixed "[name] " by federation-internals.
  const prefixed = /^\[([^\]]+)\] /.exec(rawMessage);
  if (prefixed?.[1] !== undefined) subgraphs.add(prefixed[1]);
  const message = (prefixed ? rawMessage.slice(prefixed[0].length) : rawMessage)
    .replace(/\s*\n\s*/g, ' ')
    .trim();

  const locations: string[] = [];
  for (const node of nodes) {
    const tagged = 'subgraph' in node && typeof node.subgraph === 'string' ? node.subgraph : null;
    const file = node.loc?.source.name;
    const subgraph = tagged ?? (file === undefined ? undefined : subgraphByFile.get(file));
    if (subgraph !== undefined) subgraphs.add(subgraph);
    if (node.loc !== undefined && file !== undefined && subgraphByFile.has(file)) {
      const { line, column } = getLocation(node.loc.source, node.loc.start);
      const location = `${displayPath(file)}:${line}:${column}`;
      if (!locations.includes(location)) locations.push(location);
    }
  }
  const involved = subgraphs.size > 0 ? ` [${[...subgraphs].join(', ')}]` : '';
  const at = locations.length > 0 ? ` (at ${locations.join(', ')})` : '';
  return `${code}${involved}: ${message}${at}`;
}

function fail(message: string): { ok: false; errors: string[] } {
  return { ok: false, errors: [message] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(url: string): boolean {
  // `new URL('localhost:4001')` parses, with "localhost:" as the scheme; routers speak HTTP(S).
  return URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol);
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

/** Relative to the working directory when inside it, so paths in messages are clickable. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative
    : file;
}

interface Flags {
  config: string;
  out: string;
  check: boolean;
  /** The flags to repeat in the "run npm run compose" advice. */
  passthrough: string[];
}

const USAGE =
  'usage: npm run compose -- [--config supergraph.yaml] [--out supergraph.graphql] [--check]';

function parseFlags(argv: string[]): Flags | string {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: 'string' },
        out: { type: 'string' },
        check: { type: 'boolean', default: false },
      },
    });
    const passthrough: string[] = [];
    if (values.config !== undefined) passthrough.push('--config', values.config);
    if (values.out !== undefined) passthrough.push('--out', values.out);
    return {
      config: values.config === undefined ? DEFAULT_CONFIG : path.resolve(values.config),
      out: values.out === undefined ? DEFAULT_OUT : path.resolve(values.out),
      check: values.check === true,
      passthrough,
    };
  } catch (error) {
    // parseArgs messages are one readable line, e.g. "Unknown option '--chek'".
    return `${(error as Error).message.split('\n')[0] ?? 'bad arguments'}. ${USAGE}`;
  }
}

function main(argv: string[]): number {
  const flags = parseFlags(argv);
  if (typeof flags === 'string') {
    console.error(flags);
    return 2;
  }
  const result = composeSupergraph(flags.config);
  if (!result.ok) {
    const count = result.errors.length;
    console.error(`Cannot compose the supergraph (${count} error${count === 1 ? '' : 's'}):`);
    for (const error of result.errors) console.error(`  ${error}`);
    return 1;
  }

  const content = supergraphFileContent(result.supergraphSdl);
  const out = displayPath(flags.out);
  const hints = `${result.hints.length} hint${result.hints.length === 1 ? '' : 's'}`;
  for (const hint of result.hints) console.log(`  hint: ${hint}`);
  if (flags.check) {
    const current = isFile(flags.out) ? readFileSync(flags.out, 'utf8') : undefined;
    if (current !== content) {
      const rerun = ['npm run compose', ...(flags.passthrough.length > 0 ? ['--'] : [])]
        .concat(flags.passthrough)
        .join(' ');
      const state = current === undefined ? 'is missing' : 'is stale';
      console.error(`${out} ${state}: it differs from a fresh composition. Run: ${rerun}`);
      return 1;
    }
    console.log(`${out} is up to date (${hints}).`);
    return 0;
  }
  writeFileSync(flags.out, content);
  console.log(`Wrote ${out} (${hints}).`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    // Input problems are reported above; this is a bug or an I/O failure, still one line.
    console.error(`compose failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
