/**
 * Keyset ("seek") pagination on `(createdAt, id)`, for every listing of the subgraphs:
 * `Query.interviews` (newest first) and `Query.users` (oldest first).
 *
 * A page starts strictly after the last row the client saw, so rows inserted or deleted
 * meanwhile never shift a page the way `OFFSET` does, and the database seeks on an index
 * instead of counting rows. `id` breaks ties between rows created in the same millisecond.
 *
 * Cursors are opaque to clients (the schemas only say `String`): base64url of the JSON
 * `[createdAt in epoch milliseconds, id]`. The format may change; clients only pass back a
 * `cursor` or `pageInfo.endCursor` they were given.
 */
import type { FilterQuery, QueryOrderMap } from '@mikro-orm/core';
import { z } from 'zod';
import { InvalidInputError } from '../../contracts/errors';

/** The sort key of a listing; every paginated entity has both fields. */
export interface Keyset {
  readonly createdAt: Date;
  readonly id: string;
}

/** `asc` is oldest first, `desc` newest first; `id` follows the same direction. */
export type KeysetDirection = 'asc' | 'desc';

/** One row of a page with the cursor that resumes after it (the schemas' `*Edge`). */
export interface Edge<T> {
  cursor: string;
  node: T;
}

/** The schemas' `PageInfo`. */
export interface PageInfo {
  hasNextPage: boolean;
  /** The cursor of the last edge; `null` for an empty page. */
  endCursor: string | null;
}

/** A page as the schemas' `*Connection` types shape it, less `totalCount` (each service's own). */
export interface Page<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
}

/** What a service passes to MikroORM's `find` for one page (see {@link keysetQuery}). */
export interface KeysetQuery<T> {
  where: FilterQuery<T>;
  options: { orderBy: QueryOrderMap<T>[]; limit: number };
}

/** The largest epoch millisecond a `Date` holds (ECMAScript's time value range). */
const MAX_TIME = 8.64e15;

const cursorSchema = z.tuple([z.number().int().min(0).max(MAX_TIME), z.string().min(1)]);

/** The opaque cursor that resumes a listing right after `row`. */
export function encodeCursor(row: Keyset): string {
  return Buffer.from(JSON.stringify([row.createdAt.getTime(), row.id])).toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeCursor}.
 * @param argument The GraphQL argument it came in, named by the error. @default 'after'
 * @throws {InvalidInputError} (`BAD_USER_INPUT`, `field` = `argument`) for anything else:
 *   not base64url JSON, not a `[milliseconds, id]` pair, an empty id.
 */
export function decodeCursor(cursor: string, argument = 'after'): Keyset {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidInputError(
      argument,
      'is not a cursor of this listing; pass back an edge `cursor` or `pageInfo.endCursor`',
    );
  }
  const [ms, id] = parsed.data;
  return { createdAt: new Date(ms), id };
}

/** The listing's order: `createdAt`, then `id` for rows created in the same millisecond. */
export function keysetOrder<T extends Keyset>(direction: KeysetDirection): QueryOrderMap<T>[] {
  const order: QueryOrderMap<Keyset>[] = [{ createdAt: direction }, { id: direction }];
  // `QueryOrderMap<T>` maps T's own keys, which TypeScript cannot see through for a generic T.
  return order as QueryOrderMap<T>[];
}

/**
 * The rows strictly after `after` in {@link keysetOrder}: a later (or, descending, earlier)
 * `createdAt`, or the same `createdAt` and a later (earlier) `id`.
 */
export function afterKeyset<T extends Keyset>(
  after: Keyset,
  direction: KeysetDirection,
): FilterQuery<T> {
  const beyond = direction === 'asc' ? '$gt' : '$lt';
  const where: FilterQuery<Keyset> = {
    $or: [
      { createdAt: { [beyond]: after.createdAt } },
      { createdAt: after.createdAt, id: { [beyond]: after.id } },
    ],
  };
  // As in keysetOrder: the two fields exist on every T, but not for the type checker.
  return where as FilterQuery<T>;
}

/**
 * The `find` arguments of one page: `where` narrowed to the rows after the cursor, in keyset
 * order, one row more than `first` so that {@link toPage} knows whether another page follows.
 * @param after A client's cursor, decoded here; `null`/`undefined` starts at the beginning.
 * @throws {InvalidInputError} on `after` for a malformed cursor, before any query.
 */
export function keysetQuery<T extends Keyset>(
  where: FilterQuery<T>,
  page: { first: number; after: string | null | undefined; direction: KeysetDirection },
): KeysetQuery<T> {
  const after = page.after == null ? undefined : decodeCursor(page.after);
  return {
    where: after
      ? ({ $and: [where, afterKeyset<T>(after, page.direction)] } as FilterQuery<T>)
      : where,
    options: { orderBy: keysetOrder<T>(page.direction), limit: page.first + 1 },
  };
}

/**
 * Cuts the rows of a {@link keysetQuery} (at most `first + 1`, in keyset order) into a page of
 * `first` edges; the extra row only tells that there is a next page.
 */
export function toPage<T extends Keyset>(rows: readonly T[], first: number): Page<T> {
  const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/**
 * A page size argument within bounds. `null` (sent explicitly, overriding the schema's default)
 * is refused like any other out-of-range value, as are fractions.
 * @throws {InvalidInputError} naming `argument`, e.g. `first: must be between 1 and 100, got 0`.
 */
export function pageSize(
  argument: string,
  value: number | null | undefined,
  bounds: { readonly min: number; readonly max: number },
): number {
  if (
    value === null ||
    value === undefined ||
    !Number.isInteger(value) ||
    value < bounds.min ||
    value > bounds.max
  ) {
    throw new InvalidInputError(
      argument,
      `must be between ${bounds.min} and ${bounds.max}, got ${String(value)}`,
    );
  }
  return value;
}
