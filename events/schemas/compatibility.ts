/**
 * Schema compatibility, as Confluent Schema Registry's modes define it, over the catalog's JSON
 * Schemas (draft 2020-12, as zod writes them). Pure functions: no files, no git.
 *
 * One check underlies every mode: can a *reader* schema read everything a *writer* schema may
 * write (writer ⊆ reader)? BACKWARD: the new schema reads data written with the old one (reader
 * = new, writer = old). FORWARD: the old reads the new (reader = old, writer = new). FULL: both.
 * NONE: nothing is checked.
 *
 * The rules, reader against writer, at each node (recursing into properties, items,
 * additionalProperties and anyOf/oneOf branches; a `type` array is a set of types):
 * - type: every type the writer may write must be one the reader accepts (integer fits number;
 *   number does not fit integer, a narrowing). Only the keywords of shared types are compared.
 * - a property the writer has and the reader lacks: a closed reader (`additionalProperties:
 *   false`) refuses it, whether the writer requires it or not. BACKWARD that is a field *removed*
 *   (events already written carry it, the new reader refuses them); FORWARD a field *added* (old
 *   readers refuse events that carry it: add it in a new version instead). An open reader checks
 *   it against its `additionalProperties` schema, or accepts it.
 * - a property the reader requires and the writer may omit (absent, or optional): BACKWARD a
 *   required field added or an optional one made required (events already written lack it);
 *   FORWARD a required field removed or made optional (old readers require it).
 * - a property the reader has as optional and the writer lacks: fine if the writer is closed;
 *   against a fully open writer it fails (the writer may have put any value under that name:
 *   BACKWARD, an optional field added to an open object); else what the writer's
 *   `additionalProperties` schema allows must fit the reader's property.
 * - enum/const: every value the writer may write must be one of the reader's (BACKWARD: enum
 *   narrowed; FORWARD: a value added that old readers refuse). A reader enum against a writer
 *   without one fails; a writer enum against a reader without one has each value checked
 *   against the reader's string and number bounds.
 * - bounds: the reader may not be tighter than the writer: minLength, maxLength, minimum,
 *   maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minItems, maxItems, uniqueItems,
 *   minProperties, maxProperties; a `pattern` or `format` the reader has and the writer lacks or
 *   spells differently fails (regular languages are not compared: a changed pattern is flagged).
 * - keywords not analysed (allOf, not, if/then/else, $ref, $defs, prefixItems, contains,
 *   patternProperties, propertyNames, dependentRequired, dependentSchemas, unevaluated*): if they
 *   differ between reader and writer the change is flagged for review, never silently passed.
 */

/** Compatibility modes, as in Confluent Schema Registry (the *_TRANSITIVE ones are not needed:
 * each subject holds one version of one event type, compared with its last release). */
export const MODES = ['BACKWARD', 'FORWARD', 'FULL', 'NONE'] as const;
export type Mode = (typeof MODES)[number];

/** One direction of a check: BACKWARD (new reads old) or FORWARD (old reads new). */
export type Direction = 'BACKWARD' | 'FORWARD';

/** A JSON Schema node (a boolean schema, or an object of keywords). */
export type SchemaNode = boolean | Record<string, unknown>;

/** One incompatibility: where (`payload.email`), what changed, and whom it breaks. */
export interface Incompatibility {
  path: string;
  /** What changed, from the old schema to the new one: `required field removed`. */
  change: string;
  direction: Direction;
  /** Why that breaks the direction's readers. */
  why: string;
}

/** The subject a finding is about, for its message. */
export interface SubjectRef {
  type: string;
  version: string;
  subject: string;
  mode: Mode;
}

const NEW_READERS = 'new readers refuse events already written';
const OLD_READERS = 'old readers refuse new events';

const UNANALYSED = [
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$ref',
  '$defs',
  'definitions',
  'prefixItems',
  'contains',
  'patternProperties',
  'propertyNames',
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
  'unevaluatedItems',
] as const;

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isNode(a) && isNode(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
    );
  }
  return false;
}

function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** The types a node allows, or undefined when it does not restrict them. */
function typesOf(node: Node): Set<string> | undefined {
  const type = node.type;
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.filter((t): t is string => typeof t === 'string'));
  const values = valuesOf(node);
  if (values !== undefined) return new Set(values.map(typeOfValue));
  if (isNode(node.properties) || node.additionalProperties !== undefined) return undefined;
  return undefined;
}

/** The values an enum or const allows, or undefined. */
function valuesOf(node: Node): unknown[] | undefined {
  if (Object.hasOwn(node, 'const')) return [node.const];
  return Array.isArray(node.enum) ? node.enum : undefined;
}

function accepts(readerTypes: Set<string>, type: string): boolean {
  return readerTypes.has(type) || (type === 'integer' && readerTypes.has('number'));
}

function sorted(types: Set<string> | undefined): string {
  return types === undefined ? 'any' : [...types].sort().join(' | ');
}

/** The check's context: its direction, to phrase each change from the old schema to the new. */
interface Ctx {
  direction: Direction;
  out: Incompatibility[];
}

function report(ctx: Ctx, path: string, change: string, why?: string): void {
  ctx.out.push({
    path,
    change,
    direction: ctx.direction,
    why: why ?? (ctx.direction === 'BACKWARD' ? NEW_READERS : OLD_READERS),
  });
}

/** Old and new values of a keyword, whichever side reads. */
function oldNew<T>(ctx: Ctx, reader: T, writer: T): { old: T; new: T } {
  return ctx.direction === 'BACKWARD' ? { old: writer, new: reader } : { old: reader, new: writer };
}

function normalise(node: SchemaNode | undefined): Node | false {
  if (node === undefined || node === true) return {};
  if (node === false) return false;
  return node;
}

/** Whether `value` meets the reader's scalar constraints (a writer's enum value, one by one). */
function valueFits(value: unknown, reader: Node): boolean {
  if (typeof value === 'string') {
    if (typeof reader.minLength === 'number' && value.length < reader.minLength) return false;
    if (typeof reader.maxLength === 'number' && value.length > reader.maxLength) return false;
    if (typeof reader.pattern === 'string' && !new RegExp(reader.pattern, 'u').test(value))
      return false;
  }
  if (typeof value === 'number') {
    if (typeof reader.minimum === 'number' && value < reader.minimum) return false;
    if (typeof reader.maximum === 'number' && value > reader.maximum) return false;
    if (typeof reader.exclusiveMinimum === 'number' && value <= reader.exclusiveMinimum)
      return false;
    if (typeof reader.exclusiveMaximum === 'number' && value >= reader.exclusiveMaximum)
      return false;
  }
  return true;
}

/** Reports every way `reader` may refuse a value `writer` allows, at `path`. */
function check(
  ctx: Ctx,
  readerIn: SchemaNode | undefined,
  writerIn: SchemaNode | undefined,
  path: string,
): void {
  const reader = normalise(readerIn);
  const writer = normalise(writerIn);
  if (writer === false) return;
  // A reader without keywords accepts anything.
  if (reader !== false && Object.keys(reader).every((k) => k === 'title' || k === 'description'))
    return;
  if (reader === false) {
    report(
      ctx,
      path,
      ctx.direction === 'BACKWARD' ? 'now refuses every value' : 'was refusing every value',
    );
    return;
  }
  const writerBranches = writer.anyOf ?? writer.oneOf;
  if (Array.isArray(writerBranches)) {
    const { anyOf: _a, oneOf: _o, ...rest } = writer;
    for (const branch of writerBranches as SchemaNode[])
      check(
        ctx,
        reader,
        branch === true ? rest : branch === false ? false : { ...rest, ...branch },
        path,
      );
    return;
  }
  const readerBranches = reader.anyOf ?? reader.oneOf;
  if (Array.isArray(readerBranches)) {
    const { anyOf: _a, oneOf: _o, ...rest } = reader;
    let best: Incompatibility[] | undefined;
    for (const branch of readerBranches as SchemaNode[]) {
      const trial: Ctx = { direction: ctx.direction, out: [] };
      check(
        trial,
        branch === true ? rest : branch === false ? false : { ...rest, ...branch },
        writer,
        path,
      );
      if (trial.out.length === 0) return;
      if (best === undefined || trial.out.length < best.length) best = trial.out;
    }
    ctx.out.push(...(best ?? []));
    return;
  }

  for (const keyword of UNANALYSED) {
    if (!deepEqual(reader[keyword], writer[keyword]))
      report(
        ctx,
        path,
        `${keyword} changed (not checked automatically)`,
        'review it by hand, or add a new version',
      );
  }

  const readerTypes = typesOf(reader);
  const writerTypes = typesOf(writer);
  if (readerTypes !== undefined) {
    const refused =
      writerTypes === undefined
        ? ['any']
        : [...writerTypes].filter((t) => !accepts(readerTypes, t));
    if (refused.length > 0) {
      const { old, new: now } = oldNew(ctx, readerTypes, writerTypes);
      report(ctx, path, `changed type from ${sorted(old)} to ${sorted(now)}`);
      return;
    }
  }
  const shared = (type: string): boolean =>
    (writerTypes === undefined ||
      writerTypes.has(type) ||
      (type === 'number' && writerTypes.has('integer'))) &&
    (readerTypes === undefined || accepts(readerTypes, type));

  const readerValues = valuesOf(reader);
  const writerValues = valuesOf(writer);
  if (readerValues !== undefined) {
    if (writerValues === undefined) {
      report(
        ctx,
        path,
        ctx.direction === 'BACKWARD'
          ? `enum added (${readerValues.map(show).join(', ')})`
          : `enum removed (was ${readerValues.map(show).join(', ')})`,
      );
    } else {
      const missing = writerValues.filter((v) => !readerValues.some((r) => deepEqual(r, v)));
      if (missing.length > 0)
        report(
          ctx,
          path,
          ctx.direction === 'BACKWARD'
            ? `enum narrowed: ${missing.map(show).join(', ')} removed`
            : `enum widened: ${missing.map(show).join(', ')} added`,
        );
    }
  } else if (writerValues !== undefined) {
    const misfits = writerValues.filter((v) => !valueFits(v, reader));
    if (misfits.length > 0)
      report(ctx, path, `bounds tightened: ${misfits.map(show).join(', ')} no longer fit`);
    return;
  }

  if (shared('string')) {
    lowerBound(ctx, reader, writer, path, 'minLength');
    upperBound(ctx, reader, writer, path, 'maxLength');
    sameIfPresent(ctx, reader, writer, path, 'pattern');
    sameIfPresent(ctx, reader, writer, path, 'format');
  }
  if (shared('number') || shared('integer')) {
    numericBounds(ctx, reader, writer, path);
    if (typeof reader.multipleOf === 'number') {
      const w = writer.multipleOf;
      if (typeof w !== 'number' || !Number.isInteger(w / reader.multipleOf)) {
        const { old, new: now } = oldNew(ctx, reader.multipleOf, w);
        report(ctx, path, `multipleOf changed from ${show(old)} to ${show(now)}`);
      }
    }
  }
  if (shared('array')) {
    lowerBound(ctx, reader, writer, path, 'minItems');
    upperBound(ctx, reader, writer, path, 'maxItems');
    if (reader.uniqueItems === true && writer.uniqueItems !== true)
      report(ctx, path, ctx.direction === 'BACKWARD' ? 'uniqueItems added' : 'uniqueItems removed');
    check(
      ctx,
      reader.items as SchemaNode | undefined,
      writer.items as SchemaNode | undefined,
      `${path}[]`,
    );
  }
  if (shared('object')) {
    lowerBound(ctx, reader, writer, path, 'minProperties');
    upperBound(ctx, reader, writer, path, 'maxProperties');
    checkObject(ctx, reader, writer, path);
  }
}

function checkObject(ctx: Ctx, reader: Node, writer: Node, path: string): void {
  const rProps = (isNode(reader.properties) ? reader.properties : {}) as Record<string, SchemaNode>;
  const wProps = (isNode(writer.properties) ? writer.properties : {}) as Record<string, SchemaNode>;
  const rRequired = new Set(Array.isArray(reader.required) ? (reader.required as string[]) : []);
  const wRequired = new Set(Array.isArray(writer.required) ? (writer.required as string[]) : []);
  const rExtra = reader.additionalProperties as SchemaNode | undefined;
  const wExtra = writer.additionalProperties as SchemaNode | undefined;
  const backward = ctx.direction === 'BACKWARD';

  for (const [name, wSchema] of Object.entries(wProps)) {
    if (wSchema === false) continue;
    const at = `${path}.${name}`;
    const kind = wRequired.has(name) ? 'required' : 'optional';
    if (Object.hasOwn(rProps, name)) {
      if (rRequired.has(name) && !wRequired.has(name))
        report(
          ctx,
          at,
          backward ? 'optional field became required' : 'required field became optional',
          backward ? 'events already written may lack it' : 'old readers require it',
        );
      check(ctx, rProps[name], wSchema, at);
    } else if (rExtra === false) {
      report(
        ctx,
        at,
        backward ? `${kind} field removed` : `${kind} field added`,
        backward
          ? 'the new schema refuses unknown fields (additionalProperties: false) and events already written may carry it'
          : 'old readers refuse unknown fields (additionalProperties: false): add it in a new version instead',
      );
    } else {
      check(ctx, rExtra, wSchema, at);
    }
  }
  for (const [name, rSchema] of Object.entries(rProps)) {
    if (Object.hasOwn(wProps, name)) continue;
    const at = `${path}.${name}`;
    if (rRequired.has(name)) {
      report(
        ctx,
        at,
        backward ? 'required field added' : 'required field removed',
        backward ? 'events already written lack it' : 'old readers require it',
      );
    } else if (wExtra === undefined || wExtra === true) {
      if (normalise(rSchema) !== false && Object.keys(normalise(rSchema)).length > 0)
        report(
          ctx,
          at,
          backward
            ? 'optional field added to an open object'
            : 'optional field removed from an open object',
          backward
            ? 'events already written may carry any value under that name (open content model)'
            : 'new writers may put any value under that name, which old readers constrain',
        );
    } else if (wExtra !== false) {
      check(ctx, rSchema, wExtra, at);
    }
  }
  if (wExtra !== false) {
    if (rExtra === false) {
      report(
        ctx,
        `${path}.*`,
        backward
          ? 'unknown fields no longer allowed (additionalProperties: false)'
          : 'unknown fields now allowed',
      );
    } else {
      check(ctx, rExtra, wExtra, `${path}.*`);
    }
  }
}

function lowerBound(ctx: Ctx, reader: Node, writer: Node, path: string, keyword: string): void {
  bound(ctx, reader[keyword], writer[keyword], path, keyword, (r, w) => r > w);
}

function upperBound(ctx: Ctx, reader: Node, writer: Node, path: string, keyword: string): void {
  bound(ctx, reader[keyword], writer[keyword], path, keyword, (r, w) => r < w);
}

function bound(
  ctx: Ctx,
  r: unknown,
  w: unknown,
  path: string,
  keyword: string,
  tighter: (r: number, w: number) => boolean,
): void {
  if (typeof r !== 'number') return;
  if (typeof w === 'number' && !tighter(r, w)) return;
  const { old, new: now } = oldNew(ctx, r, typeof w === 'number' ? w : undefined);
  const verb = ctx.direction === 'BACKWARD' ? 'tightened' : 'loosened';
  if (old === undefined) report(ctx, path, `${keyword} ${show(now)} added`);
  else if (now === undefined) report(ctx, path, `${keyword} ${show(old)} removed`);
  else report(ctx, path, `${keyword} ${verb} from ${show(old)} to ${show(now)}`);
}

/** A numeric bound: its value, and whether it is exclusive. */
interface Limit {
  value: number;
  exclusive: boolean;
}

/** The lower (`min`) or upper bound of a node, integers normalised (exclusiveMinimum 0 = minimum 1). */
function limitOf(n: Node, side: 'min' | 'max', integers: boolean): Limit | undefined {
  const inclusive = side === 'min' ? n.minimum : n.maximum;
  const exclusive = side === 'min' ? n.exclusiveMinimum : n.exclusiveMaximum;
  const limits: Limit[] = [];
  if (typeof inclusive === 'number') limits.push({ value: inclusive, exclusive: false });
  if (typeof exclusive === 'number')
    limits.push(
      integers
        ? {
            value: side === 'min' ? Math.floor(exclusive) + 1 : Math.ceil(exclusive) - 1,
            exclusive: false,
          }
        : { value: exclusive, exclusive: true },
    );
  const tighter = (a: Limit, b: Limit): boolean => (side === 'min' ? isAbove(a, b) : isAbove(b, a));
  return limits.reduce<Limit | undefined>(
    (acc, l) => (acc === undefined || tighter(l, acc) ? l : acc),
    undefined,
  );
}

/** Whether lower bound `a` is tighter (higher) than `b`. */
function isAbove(a: Limit, b: Limit): boolean {
  return a.value > b.value || (a.value === b.value && a.exclusive && !b.exclusive);
}

function showLimit(l: Limit | undefined, side: 'min' | 'max'): string | undefined {
  if (l === undefined) return undefined;
  return `${side === 'min' ? '>' : '<'}${l.exclusive ? '' : '='} ${l.value}`;
}

function numericBounds(ctx: Ctx, reader: Node, writer: Node, path: string): void {
  const integer = (n: Node): boolean =>
    typesOf(n)?.size === 1 && typesOf(n)?.has('integer') === true;
  const ints = integer(reader) && integer(writer);
  for (const side of ['min', 'max'] as const) {
    const r = limitOf(reader, side, ints);
    const w = limitOf(writer, side, ints);
    if (r === undefined) continue;
    if (w !== undefined && !(side === 'min' ? isAbove(r, w) : isAbove(w, r))) continue;
    const { old, new: now } = oldNew(ctx, showLimit(r, side), showLimit(w, side));
    const keyword = side === 'min' ? 'minimum' : 'maximum';
    const verb = ctx.direction === 'BACKWARD' ? 'tightened' : 'loosened';
    if (old === undefined) report(ctx, path, `${keyword} (${now}) added`);
    else if (now === undefined) report(ctx, path, `${keyword} (${old}) removed`);
    else report(ctx, path, `${keyword} ${verb} from ${old} to ${now}`);
  }
}

function sameIfPresent(ctx: Ctx, reader: Node, writer: Node, path: string, keyword: string): void {
  const r = reader[keyword];
  if (r === undefined || deepEqual(r, writer[keyword])) return;
  const { old, new: now } = oldNew(ctx, r, writer[keyword]);
  if (old === undefined) report(ctx, path, `${keyword} ${show(now)} added`);
  else if (now === undefined) report(ctx, path, `${keyword} ${show(old)} removed`);
  else report(ctx, path, `${keyword} changed from ${show(old)} to ${show(now)}`);
}

/** Every way a reader of `reader` may refuse data written under `writer` (paths from `root`). */
export function readerIncompatibilities(
  reader: SchemaNode,
  writer: SchemaNode,
  direction: Direction,
  root = 'payload',
): Incompatibility[] {
  const ctx: Ctx = { direction, out: [] };
  check(ctx, reader, writer, root);
  return ctx.out;
}

/** Every incompatibility of `next` with `previous` under `mode`. */
export function incompatibilities(
  previous: SchemaNode,
  next: SchemaNode,
  mode: Mode,
): Incompatibility[] {
  const out: Incompatibility[] = [];
  if (mode === 'BACKWARD' || mode === 'FULL')
    out.push(...readerIncompatibilities(next, previous, 'BACKWARD'));
  if (mode === 'FORWARD' || mode === 'FULL')
    out.push(...readerIncompatibilities(previous, next, 'FORWARD'));
  return out;
}

/**
 * One message per changed field: `user.registered 1.0 (user-events-user.registered-1.0, FULL):
 * payload.email: required field removed (BACKWARD: …; FORWARD: …)`. The same change found in
 * both directions of FULL is one message, naming both.
 */
export function formatIncompatibilities(ref: SubjectRef, found: Incompatibility[]): string[] {
  const groups = new Map<string, Incompatibility[]>();
  for (const item of found) {
    const key = `${item.path}: ${item.change}`;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups].map(
    ([key, items]) =>
      `${ref.type} ${ref.version} (${ref.subject}, ${ref.mode}): ${key} (${items
        .map((i) => `fails ${i.direction}: ${i.why}`)
        .join('; ')})`,
  );
}

/** The messages of every incompatibility of `next` with `previous` under the subject's mode. */
export function checkCompatibility(
  ref: SubjectRef,
  previous: SchemaNode,
  next: SchemaNode,
): string[] {
  return formatIncompatibilities(ref, incompatibilities(previous, next, ref.mode));
}
