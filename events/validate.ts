/**
 * The door every event passes, at publish and at consume: one `validateEvent(unknown)`.
 * Nothing reaches a handler or the broker without going through it. An event of an older version
 * leaves it upcast to its type's current version (the catalog's upcasters, in one place), so a
 * topic holding 1.0 and 2.0 events reaches every handler as 2.0.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../contracts/errors';
import { type DomainEvent, catalog, definitionOf, isEventType } from './catalog';
import type { EventDefinition } from './catalog/define';
import { envelopeSchema } from './envelope';
import type { Topic } from './topics';

/** One failing field: a dotted path into the envelope (`payload.authMethod`) and what is wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** What {@link validateEvent} found: the typed event, or every failing field. */
export type ValidationResult =
  { ok: true; event: DomainEvent } | { ok: false; issues: FieldIssue[] };

/**
 * Thrown when an event does not match its contract; `issues` lists every failing field. Its code
 * is the registry's `INVALID_EVENT` (contracts/errors.ts), which is not retriable: `isRetriable`
 * says so, and a consumer whose handler throws it dead-letters the event at once.
 */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  readonly code = 'INVALID_EVENT' satisfies ErrorCode;
  constructor(
    readonly issues: FieldIssue[],
    context = 'invalid event',
  ) {
    super(`${context}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
}

function toIssues(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return { path: path || '(event)', message: issue.message };
  });
}

/**
 * Checks an envelope and its payload against the catalog.
 * @param expectedTopic when given, the event type must belong to this topic.
 */
export function validateEvent(input: unknown, expectedTopic?: Topic): ValidationResult {
  const envelope = envelopeSchema.safeParse(input);
  if (!envelope.success) return { ok: false, issues: toIssues(envelope.error, '') };
  const { eventType, version, source, payload } = envelope.data;

  if (!isEventType(eventType)) {
    return {
      ok: false,
      issues: [{ path: 'eventType', message: `unknown event type "${eventType}"` }],
    };
  }
  const definition = definitionOf(eventType);
  const issues: FieldIssue[] = [];
  if (expectedTopic !== undefined && definition.topic !== expectedTopic) {
    issues.push({
      path: 'eventType',
      message: `${eventType} belongs on ${definition.topic}, not ${expectedTopic}`,
    });
  }
  if (!definition.sources.includes(source)) {
    issues.push({
      path: 'source',
      message: `${eventType} is published by ${definition.sources.join(' or ')}, not ${source}`,
    });
  }
  const versions: Record<string, z.ZodObject> = definition.versions;
  const schema = Object.hasOwn(versions, version) ? versions[version] : undefined;
  if (schema === undefined) {
    issues.push({
      path: 'version',
      message: `unknown version "${version}" of ${eventType} (known: ${Object.keys(versions).join(', ')})`,
    });
    return { ok: false, issues };
  }
  const parsed = schema.safeParse(payload);
  if (!parsed.success) issues.push(...toIssues(parsed.error, 'payload'));
  if (!parsed.success || issues.length > 0) return { ok: false, issues };
  const current =
    version === definition.current
      ? { ok: true as const, data: parsed.data as Record<string, unknown> }
      : upcast(definition, version, parsed.data as Record<string, unknown>);
  if (!current.ok) return current;
  const event = { ...envelope.data, eventType, version: definition.current, payload: current.data };
  return { ok: true, event: event as DomainEvent };
}

/**
 * An older version's payload as the current version's: each version's upcaster in turn, each
 * result validated under the version it claims to be (a faulty upcaster is an issue, not a
 * malformed event reaching a handler). The only place events change shape: handlers see
 * `current`.
 */
function upcast(
  definition: EventDefinition,
  from: string,
  payload: Record<string, unknown>,
): { ok: true; data: Record<string, unknown> } | { ok: false; issues: FieldIssue[] } {
  const order = Object.keys(definition.versions);
  let data = payload;
  for (let i = order.indexOf(from); i < order.length - 1; i++) {
    const [older, next] = [order[i] as string, order[i + 1] as string];
    const step = definition.upcast?.[older];
    if (step === undefined) {
      return {
        ok: false,
        issues: [
          { path: 'version', message: `${definition.type} ${older} has no upcaster to ${next}` },
        ],
      };
    }
    const result = (definition.versions[next] as z.ZodObject).safeParse(step(data));
    if (!result.success) {
      const issues = toIssues(result.error, 'payload').map((issue) => ({
        ...issue,
        message: `${issue.message} (upcasting ${definition.type} ${older} to ${next})`,
      }));
      return { ok: false, issues };
    }
    data = result.data;
  }
  return { ok: true, data };
}

/** Like {@link validateEvent}, but throws {@link EventValidationError}. */
export function parseEvent(input: unknown, expectedTopic?: Topic): DomainEvent {
  const result = validateEvent(input, expectedTopic);
  if (!result.ok) throw new EventValidationError(result.issues);
  return result.event;
}

/** The aggregate id an event is keyed by (userId, interviewId, service). */
export function aggregateKey(event: DomainEvent): string {
  return definitionOf(event.eventType).key(event.payload);
}

/** Decodes a Kafka message value into a validated event; bad JSON is an issue like any other. */
export function decodeEvent(value: Buffer | null, expectedTopic?: Topic): ValidationResult {
  if (value === null || value.length === 0) {
    return { ok: false, issues: [{ path: '(message)', message: 'message has no value' }] };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      issues: [{ path: '(message)', message: `not JSON: ${(error as Error).message}` }],
    };
  }
  return validateEvent(json, expectedTopic);
}

export { catalog };
