/**
 * The checked-in schema artifacts: one JSON file per event type and version,
 * `events/schemas/<topic>/<eventType>/<version>.json`, holding its subject, topic, key field,
 * compatibility mode, a full envelope example and its JSON Schema. Built here from the catalog
 * (deterministically: fixed eventId, timestamp and source); written and checked by
 * `npm run events:schemas`, compared release to release by `npm run events:check`.
 */
import type { z } from 'zod';
import { type EventType, definitionOf } from '../catalog';
import { envelopeSchema } from '../envelope';
import { type CompatibilityConfig, modeOf } from './compatibility-config';
import type { Mode } from './compatibility';
import { type JsonSchema, catalogVersions, jsonSchemaOf, subjectOf } from './json-schema';

/** One artifact file's content. */
export interface SchemaArtifact {
  subject: string;
  eventType: string;
  version: string;
  topic: string;
  /** The payload field the message is keyed by. */
  key: string;
  compatibility: Mode;
  example: {
    eventId: string;
    eventType: string;
    timestamp: string;
    version: string;
    source: string;
    payload: Record<string, unknown>;
  };
  schema: JsonSchema;
}

/** The fixed envelope fields of every example, so the files are deterministic. */
export const EXAMPLE_EVENT_ID = '00000000-0000-4000-8000-000000000000';
export const EXAMPLE_TIMESTAMP = '2026-01-01T00:00:00.000Z';

/** Where an artifact lives, relative to `events/schemas/`, with `/` separators. */
export function artifactPath(topic: string, type: string, version: string): string {
  return `${topic}/${type}/${version}.json`;
}

/**
 * The catalog example as a payload of `version`: the example itself at `current`; for an older
 * version, the example's fields that version has (which must then be valid under it).
 */
function examplePayload(type: EventType, version: string): Record<string, unknown> {
  const definition = definitionOf(type);
  const example = definition.example as Record<string, unknown>;
  const schema = definition.versions[version] as z.ZodObject;
  const payload =
    version === definition.current
      ? example
      : Object.fromEntries(Object.entries(example).filter(([field]) => field in schema.shape));
  const parsed = schema.safeParse(payload);
  if (!parsed.success)
    throw new Error(
      `the example of ${type} is not a valid ${version} payload (${parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}): fix the catalog example`,
    );
  return payload;
}

/** The example's field whose value is the message key. */
function keyField(type: EventType, version: string): string {
  const definition = definitionOf(type);
  const example = definition.example as Record<string, unknown>;
  const key = definition.key(definition.example as never);
  const fields = Object.keys(example).filter((field) => example[field] === key);
  const shape = (definition.versions[version] as z.ZodObject).shape;
  const field = fields.find((f) => f in shape);
  if (fields.length !== 1 || field === undefined)
    throw new Error(
      `cannot tell which field ${type} ${version} is keyed by: the example has ${
        fields.length === 0 ? 'no field' : `fields ${fields.join(', ')}`
      } equal to its key ${JSON.stringify(key)}; give the example distinct values`,
    );
  return field;
}

/** The artifact of one event type at one version. */
export function artifactOf(
  type: EventType,
  version: string,
  config: CompatibilityConfig,
): SchemaArtifact {
  const definition = definitionOf(type);
  const subject = subjectOf(type, version);
  const example = {
    eventId: EXAMPLE_EVENT_ID,
    eventType: type,
    timestamp: EXAMPLE_TIMESTAMP,
    version,
    source: definition.sources[0] as string,
    payload: examplePayload(type, version),
  };
  envelopeSchema.parse(example);
  return {
    subject,
    eventType: type,
    version,
    topic: definition.topic,
    key: keyField(type, version),
    compatibility: modeOf(config, subject, definition.topic),
    example,
    schema: jsonSchemaOf(type, version),
  };
}

/** Prettier's print width in this project (.prettierrc), for arrays that fit on one line. */
const PRINT_WIDTH = 100;

/**
 * JSON as prettier formats it here, so the files pass `prettier --check` without running
 * prettier: two-space indent, non-empty objects one key a line, arrays of scalars on one line
 * when the line fits in the print width (else one element a line), a trailing newline.
 */
export function formatJson(value: unknown): string {
  const print = (node: unknown, indent: string, prefix: string, suffix: string): string[] => {
    if (Array.isArray(node)) {
      if (node.length === 0) return [`${indent}${prefix}[]${suffix}`];
      const scalars = node.every((item) => typeof item !== 'object' || item === null);
      const flat = `${indent}${prefix}[${node.map((item) => JSON.stringify(item)).join(', ')}]${suffix}`;
      if (scalars && flat.length <= PRINT_WIDTH) return [flat];
      return [
        `${indent}${prefix}[`,
        ...node.flatMap((item, i) =>
          print(item, `${indent}  `, '', i === node.length - 1 ? '' : ','),
        ),
        `${indent}]${suffix}`,
      ];
    }
    if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return [`${indent}${prefix}{}${suffix}`];
      return [
        `${indent}${prefix}{`,
        ...entries.flatMap(([key, v], i) =>
          print(v, `${indent}  `, `${JSON.stringify(key)}: `, i === entries.length - 1 ? '' : ','),
        ),
        `${indent}}${suffix}`,
      ];
    }
    return [`${indent}${prefix}${JSON.stringify(node)}${suffix}`];
  };
  return `${print(value, '', '', '').join('\n')}\n`;
}

/** Every artifact of the catalog, by path relative to `events/schemas/`, in catalog order. */
export function catalogArtifacts(config: CompatibilityConfig): Map<string, SchemaArtifact> {
  return new Map(
    catalogVersions().map(({ type, version }) => {
      const artifact = artifactOf(type, version, config);
      return [artifactPath(artifact.topic, type, version), artifact];
    }),
  );
}
