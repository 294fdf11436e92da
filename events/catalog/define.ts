import type { z } from 'zod';
import type { Source } from '../envelope';
import type { Topic } from '../topics';

/** One event type of the catalog: where it travels, who may send it, its versioned schemas. */
export interface EventDefinition<
  TType extends string = string,
  TSchema extends z.ZodObject = z.ZodObject,
  TTopic extends Topic = Topic,
> {
  type: TType;
  topic: TTopic;
  /** Services allowed to publish it. */
  sources: readonly Source[];
  /** Payload schema per envelope version. Today every event has exactly `'1.0'`. */
  versions: { readonly '1.0': TSchema };
  /** The aggregate id the message is keyed by, so one entity's events stay in order. */
  key: (payload: z.output<TSchema>) => string;
  /** A valid payload, for documentation and for the catalog's own tests. */
  example: z.input<TSchema>;
}

/** Identity function that keeps literal types, so the catalog stays precisely typed. */
export function defineEvent<
  const TType extends string,
  TSchema extends z.ZodObject,
  const TTopic extends Topic,
>(definition: EventDefinition<TType, TSchema, TTopic>): EventDefinition<TType, TSchema, TTopic> {
  return definition;
}
