/**
 * The consumer's side of the registry: an event whose type or version this process's catalog
 * does not know (a newer producer's), but which names its schema in the `schema-id` header, is
 * validated against that schema from the registry (ajv) instead of being refused outright.
 *
 * Only events that fail the catalog for that reason alone qualify: the envelope must be valid,
 * and for a known type the topic and source must be right; anything else stays invalid as
 * before. Such an event is a {@link RegistryValidatedEvent}, never a typed `DomainEvent`: typed
 * handlers never see a payload they were not built for.
 */
import { definitionOf, isEventType } from '../catalog';
import { envelopeSchema, type Source } from '../envelope';
import type { Topic } from '../topics';
import type { FieldIssue } from '../validate';
import { ajvIssues } from './ajv';
import type { SchemaRegistry } from './client';

/** An event validated by its registry schema, of a type or version the catalog does not know. */
export interface RegistryValidatedEvent {
  readonly validatedBy: 'registry';
  /** The registry id of the schema its payload was checked against. */
  readonly schemaId: number;
  eventId: string;
  eventType: string;
  timestamp: string;
  version: string;
  source: Source;
  payload: Record<string, unknown>;
}

type Envelope = Omit<RegistryValidatedEvent, 'validatedBy' | 'schemaId'>;

/**
 * The envelope of a message that is invalid only because the catalog lacks its event type or
 * version (on `topic`); `undefined` for anything else (bad JSON, bad envelope, wrong topic or
 * source, or a type and version the catalog knows).
 */
export function unknownToCatalog(value: Buffer | null, topic: Topic): Envelope | undefined {
  if (value === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const envelope = parsed.data;
  if (!isEventType(envelope.eventType)) return envelope;
  const definition = definitionOf(envelope.eventType);
  if (definition.topic !== topic || !definition.sources.includes(envelope.source)) return undefined;
  return Object.hasOwn(definition.versions, envelope.version) ? undefined : envelope;
}

/** A `schema-id` header's id, or `undefined` when it is missing or no positive integer. */
export function parseSchemaId(header: string | undefined): number | undefined {
  return header !== undefined && /^[1-9]\d{0,9}$/.test(header) ? Number(header) : undefined;
}

/**
 * Checks `envelope`'s payload against schema `schemaId` of `registry`.
 * @throws {SchemaRegistryError} when the registry cannot be asked (the caller retries later).
 */
export async function validateByRegistry(
  envelope: Envelope,
  schemaId: number,
  registry: SchemaRegistry,
): Promise<{ ok: true; event: RegistryValidatedEvent } | { ok: false; issues: FieldIssue[] }> {
  const validate = await registry.validatorById(schemaId);
  if (validate(envelope.payload))
    return { ok: true, event: { ...envelope, validatedBy: 'registry', schemaId } };
  const issues = ajvIssues(validate.errors, 'payload').map((issue) => ({
    ...issue,
    message: `${issue.message} (registry schema ${schemaId} of ${envelope.eventType} ${envelope.version})`,
  }));
  return { ok: false, issues };
}
