import type { z } from 'zod';
import type { Source } from '../envelope';
import type { Topic } from '../topics';

/** Payload schemas by envelope version, oldest first. */
export type EventVersions = Readonly<Record<string, z.ZodObject>>;

/**
 * One event type of the catalog: where it travels, who may send it, its versioned schemas.
 *
 * Versions: producers write `current`; every older version a topic may still hold stays in
 * `versions` and has an upcaster to the version after it (`upcast`), applied at the door
 * (`validateEvent`), so handlers only ever see `current`'s shape. A new version is added when a
 * change would break a released one's readers (`npm run events:check` says when).
 */
export interface EventDefinition<
  TType extends string = string,
  TVersions extends EventVersions = EventVersions,
  TTopic extends Topic = Topic,
  TCurrent extends keyof TVersions & string = keyof TVersions & string,
> {
  type: TType;
  topic: TTopic;
  /** Services allowed to publish it. */
  sources: readonly Source[];
  /** The version producers write, and the shape handlers see. */
  current: TCurrent;
  /** Payload schema per envelope version, oldest first; `current` is the last. */
  versions: TVersions;
  /**
   * Per older version, its payload (valid under that version) as the next version's input:
   * defaults for what it lacks, renamed fields. The result is validated under the next version.
   */
  upcast?: { readonly [from: string]: (payload: Record<string, unknown>) => unknown };
  /** The aggregate id the message is keyed by, so one entity's events stay in order. */
  key: (payload: z.output<TVersions[TCurrent]>) => string;
  /** A valid payload at `current`, for documentation and for the catalog's own tests. */
  example: z.input<TVersions[TCurrent]>;
}

/**
 * Identity function that keeps literal types, so the catalog stays precisely typed; `current`
 * defaults to `'1.0'`.
 */
export function defineEvent<
  const TType extends string,
  const TVersions extends EventVersions,
  const TTopic extends Topic,
  const TCurrent extends keyof TVersions & string = '1.0' & keyof TVersions,
>(
  definition: Omit<EventDefinition<TType, TVersions, TTopic, TCurrent>, 'current'> & {
    current?: TCurrent;
  },
): EventDefinition<TType, TVersions, TTopic, TCurrent> {
  return { ...definition, current: definition.current ?? ('1.0' as TCurrent) };
}
