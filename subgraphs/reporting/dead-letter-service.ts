/**
 * The dead letters of the platform, for admins: the reporting subgraph's window on the
 * dead-letter tooling (events/dead-letters). One instance per request, like ReportService:
 * it authorizes, validates the arguments, and calls the shared {@link DeadLetterStore}.
 */
import { DomainError, InvalidInputError } from '../../contracts/errors';
import { requireAdmin, type Identity } from '../../contracts/identity';
import {
  DeadLetterInputError,
  parseDeadLetterRef,
  type ActionResult,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRef,
  type DeadLetterStore,
  type Replayed,
} from '../../events/dead-letters';
import { TOPICS, isTopic, type Topic } from '../../events/topics';

/** The GraphQL filter as the resolvers get it (nullable fields). */
export interface DeadLetterFilterInput {
  topics?: readonly string[] | null | undefined;
  group?: string | null | undefined;
  eventType?: string | null | undefined;
  reason?: string | null | undefined;
  since?: Date | null | undefined;
  until?: Date | null | undefined;
  includeResolved?: boolean | null | undefined;
}

/** Most ids one `replayDeadLetters` takes. */
const MAX_REPLAY_IDS = 100;

/** Dead letters for the caller of one request: see the module's comment. */
export class DeadLetterService {
  constructor(
    private readonly identity: Identity | null,
    private readonly store: DeadLetterStore | undefined,
  ) {}

  /**
   * Dead letters passing `input`, oldest first, at most `first` (1-1000, default 100).
   * @throws UNAUTHENTICATED, FORBIDDEN for non-admins, BAD_USER_INPUT for a bad topic or `first`,
   * SERVICE_UNAVAILABLE when the subgraph runs without dead-letter tooling.
   */
  async list(
    input: DeadLetterFilterInput | null | undefined,
    first: number | null | undefined,
  ): Promise<DeadLetterRecord[]> {
    requireAdmin(this.identity);
    const limit = first ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidInputError('first', 'must be 1-1000');
    }
    const filter = toFilter(input ?? {});
    const records = await this.call((store) => store.list(filter));
    return records.slice(0, limit);
  }

  /**
   * Replays the dead letters `ids` name (coordinates or eventIds) to their original topics.
   * @throws UNAUTHENTICATED, FORBIDDEN for non-admins, BAD_USER_INPUT for a malformed id or
   * none or too many, SERVICE_UNAVAILABLE as {@link DeadLetterService.list}.
   */
  async replay(
    ids: readonly string[],
    includeResolved: boolean | null | undefined,
  ): Promise<ActionResult<Replayed>> {
    requireAdmin(this.identity);
    if (ids.length === 0 || ids.length > MAX_REPLAY_IDS) {
      throw new InvalidInputError('ids', `name 1-${MAX_REPLAY_IDS} dead letters`);
    }
    const refs: DeadLetterRef[] = ids.map((id, i) => {
      try {
        return parseDeadLetterRef(id);
      } catch (error) {
        throw new InvalidInputError(`ids[${i}]`, (error as Error).message);
      }
    });
    return this.call((store) =>
      store.replay({ ids: refs, includeResolved: includeResolved ?? false }),
    );
  }

  private async call<T>(action: (store: DeadLetterStore) => Promise<T>): Promise<T> {
    if (!this.store) {
      throw new DomainError(
        'SERVICE_UNAVAILABLE',
        'This reporting subgraph runs without dead-letter tooling',
      );
    }
    try {
      return await action(this.store);
    } catch (error) {
      // Anything else (Kafka down) is unexpected here: masked at the edge and logged there.
      if (error instanceof DeadLetterInputError)
        throw new InvalidInputError('filter', error.message);
      throw error;
    }
  }
}

function toFilter(input: DeadLetterFilterInput): DeadLetterFilter {
  const filter: DeadLetterFilter = { includeResolved: input.includeResolved ?? false };
  if (input.topics != null) {
    const topics: Topic[] = [];
    for (const [i, raw] of input.topics.entries()) {
      const logical = raw.endsWith('.dlq') ? raw.slice(0, -'.dlq'.length) : raw;
      if (!isTopic(logical)) {
        throw new InvalidInputError(`filter.topics[${i}]`, `one of ${TOPICS.join(', ')}`);
      }
      topics.push(logical);
    }
    filter.topics = topics;
  }
  if (input.group != null) filter.group = input.group;
  if (input.eventType != null) filter.eventType = input.eventType;
  if (input.reason != null) filter.reason = input.reason;
  if (input.since != null) filter.since = input.since;
  if (input.until != null) filter.until = input.until;
  return filter;
}
