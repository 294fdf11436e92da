/**
 * The producer's side of the registry: the schema id of each event type and version this
 * process publishes, registered under `subjectOf(type, version)` with the catalog's JSON Schema
 * (`jsonSchemaOf`) on first use, once. After that, an id is a Map lookup (no promise), so the
 * publish path stays cheap.
 */
import { isEventType } from '../catalog';
import { jsonSchemaOf, subjectOf } from '../schemas/json-schema';
import type { SchemaRegistry } from './client';

/** The schema id of an event type at a version: a number once known, else a promise of it. */
export type SchemaIdOf = (eventType: string, version: string) => number | Promise<number>;

/**
 * Schema ids registered in `registry`. A failed registration (the registry is down) rejects that
 * publish and is tried again by the next one.
 *
 * Lookups resolve in call order: while one waits for a registration, later ones wait behind it
 * even when their id is known, so two events of one aggregate (one of a type registered just
 * now) still reach the producer, and their partition, in the order they were published.
 */
export function schemaIds(registry: SchemaRegistry): SchemaIdOf {
  const known = new Map<string, number>();
  let tail: Promise<number> | undefined;

  const register = (eventType: string, version: string, key: string): Promise<number> => {
    if (!isEventType(eventType))
      return Promise.reject(
        new Error(`cannot register a schema of unknown event type "${eventType}"`),
      );
    let schema;
    try {
      schema = jsonSchemaOf(eventType, version);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return registry.register(subjectOf(eventType, version), schema).then((id) => {
      known.set(key, id);
      return id;
    });
  };

  return (eventType, version) => {
    const key = `${eventType}\n${version}`;
    const id = known.get(key);
    if (id !== undefined && tail === undefined) return id;
    const lookup = id !== undefined ? Promise.resolve(id) : register(eventType, version, key);
    // Handled here too: it may fail while it still waits behind `previous`.
    lookup.catch(() => undefined);
    const previous = tail;
    const mine = previous
      ? previous.then(
          () => lookup,
          () => lookup,
        )
      : lookup;
    tail = mine;
    const clear = () => {
      if (tail === mine) tail = undefined;
    };
    mine.then(clear, clear);
    return mine;
  };
}
