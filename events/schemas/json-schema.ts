/**
 * The catalog's schemas as JSON Schema (draft 2020-12), the form they are published in: checked
 * in under `events/schemas/`, compared release to release (`npm run events:check`) and registered
 * with a schema registry when one is configured.
 */
import { z } from 'zod';
import { type EventType, catalog, definitionOf } from '../catalog';

/** A JSON Schema document, as zod writes it. */
export type JsonSchema = Record<string, unknown>;

/**
 * The registry subject of one event type at one version: `<topic>-<eventType>-<version>`
 * (Confluent's TopicRecordNameStrategy, with the version, since a new version may break the old:
 * consumers upcast it at the door).
 */
export function subjectOf(type: EventType, version: string): string {
  return `${definitionOf(type).topic}-${type}-${version}`;
}

/** The payload schema of `type` at `version`, as JSON Schema (what a producer may write). */
export function jsonSchemaOf(type: EventType, version: string): JsonSchema {
  const versions: Record<string, z.ZodObject> = definitionOf(type).versions;
  const schema = Object.hasOwn(versions, version) ? versions[version] : undefined;
  if (schema === undefined) throw new Error(`unknown version "${version}" of ${type}`);
  return {
    ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }),
    title: `${type} ${version}`,
  };
}

/** Every event type and version of the catalog, in catalog order. */
export function catalogVersions(): { type: EventType; version: string }[] {
  return (Object.keys(catalog) as EventType[]).flatMap((type) =>
    Object.keys(definitionOf(type).versions).map((version) => ({ type, version })),
  );
}
