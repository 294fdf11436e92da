/**
 * The keyset pagination module: cursors and page sizes as pure functions, and the where-clause
 * and slicing walked page by page over a real table (SQLite in memory: nothing to start), with
 * rows that share a `createdAt` so pages end in the middle of a tie.
 */
import { DateTimeType, EntitySchema, MikroORM } from '@mikro-orm/core';
import { LibSqlDriver } from '@mikro-orm/libsql';
import { InvalidInputError } from '../../contracts/errors';
import { thrownInvalidInput } from '../../test/errors';
import {
  afterKeyset,
  decodeCursor,
  encodeCursor,
  keysetOrder,
  keysetQuery,
  pageSize,
  toPage,
  type KeysetDirection,
  type KeysetQuery,
  type Page,
} from './pagination';

class Row {
  id!: string;
  createdAt!: Date;
  kind!: string;
}

const RowSchema = new EntitySchema<Row>({
  class: Row,
  tableName: 'rows',
  properties: {
    id: { type: 'string', primary: true },
    createdAt: { type: DateTimeType, fieldName: 'created_at' },
    kind: { type: 'string' },
  },
});

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('cursors', () => {
  it('round-trip (createdAt, id) as an opaque base64url string', () => {
    const row = { createdAt: new Date('2026-11-26T10:00:00.123Z'), id: 'i-1' };
    const cursor = encodeCursor(row);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(row);
    expect(decodeCursor(encodeCursor({ createdAt: new Date(0), id: 'x' }))).toEqual({
      createdAt: new Date(0),
      id: 'x',
    });
  });

  it('refuses anything encodeCursor did not make, as BAD_USER_INPUT on `after`', () => {
    for (const cursor of [
      '',
      'garbage!',
      'bm90LWEtY3Vyc29y', // "not-a-cursor"
      encode(null),
      encode({ createdAt: 1_764_151_200_000, id: 'i-1' }),
      encode([1_764_151_200_000]),
      encode([1_764_151_200_000, 'i-1', 'extra']),
      encode(['2026-11-26T10:00:00.000Z', 'i-1']),
      encode([1_764_151_200_000.5, 'i-1']),
      encode([-1, 'i-1']),
      encode([8.64e15 + 1, 'i-1']),
      encode([1_764_151_200_000, '']),
      encode([1_764_151_200_000, 7]),
    ]) {
      const error = thrownInvalidInput(() => decodeCursor(cursor));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.details).toEqual({ field: 'after' });
      expect(error.message).toBe(
        'after: is not a cursor of this listing; pass back an edge `cursor` or `pageInfo.endCursor`',
      );
    }
  });

  it('names the argument it came in', () => {
    expect(thrownInvalidInput(() => decodeCursor('garbage!', 'before')).details).toEqual({
      field: 'before',
    });
  });

  it('is refused by keysetQuery before any query is built', () => {
    expect(() => keysetQuery({}, { first: 2, after: 'garbage!', direction: 'asc' })).toThrow(
      InvalidInputError,
    );
  });
});

describe('pageSize', () => {
  const bounds = { min: 1, max: 100 } as const;

  it('accepts the bounds and refuses what lies outside, fractions and null', () => {
    expect(pageSize('first', 1, bounds)).toBe(1);
    expect(pageSize('first', 100, bounds)).toBe(100);
    for (const value of [0, -1, 101, 1.5, Number.NaN, null, undefined]) {
      const error = thrownInvalidInput(() => pageSize('first', value, bounds));
      expect(error.details).toEqual({ field: 'first' });
      expect(error.message).toBe(`first: must be between 1 and 100, got ${String(value)}`);
    }
  });
});

describe('keysetQuery', () => {
  const at = new Date('2026-11-26T10:00:00.000Z');

  it('starts at the beginning without a cursor, asking for one row more than a page', () => {
    const where = { kind: 'odd' };
    expect(keysetQuery<Row>(where, { first: 20, after: null, direction: 'desc' })).toEqual({
      where,
      options: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: 21 },
    });
    expect(keysetQuery<Row>(where, { first: 5, after: undefined, direction: 'asc' }).where).toBe(
      where,
    );
  });

  it('continues strictly after the cursor, ties on createdAt broken by id', () => {
    const after = { createdAt: at, id: 'b' };
    expect(afterKeyset(after, 'asc')).toEqual({
      $or: [{ createdAt: { $gt: at } }, { createdAt: at, id: { $gt: 'b' } }],
    });
    expect(afterKeyset(after, 'desc')).toEqual({
      $or: [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: 'b' } }],
    });
    expect(
      keysetQuery<Row>({ kind: 'odd' }, { first: 1, after: encodeCursor(after), direction: 'desc' })
        .where,
    ).toEqual({ $and: [{ kind: 'odd' }, afterKeyset(after, 'desc')] });
    expect(keysetOrder('asc')).toEqual([{ createdAt: 'asc' }, { id: 'asc' }]);
  });
});

describe('toPage', () => {
  const rows = ['a', 'b', 'c'].map((id, i) => ({ id, createdAt: new Date(i * 1000) }));

  it('keeps `first` rows; the extra one only says a next page exists', () => {
    const page = toPage(rows, 2);
    expect(page.edges.map((e) => e.node.id)).toEqual(['a', 'b']);
    expect(page.edges.map((e) => decodeCursor(e.cursor))).toEqual(rows.slice(0, 2));
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: page.edges[1]?.cursor });
  });

  it('has no next page when the rows fit, exactly or not', () => {
    expect(toPage(rows, 3).pageInfo.hasNextPage).toBe(false);
    expect(toPage(rows, 3).edges).toHaveLength(3);
    expect(toPage(rows.slice(0, 1), 3).pageInfo).toEqual({
      hasNextPage: false,
      endCursor: encodeCursor(rows[0] as (typeof rows)[number]),
    });
  });

  it('ends an empty page with a null cursor', () => {
    expect(toPage([], 2)).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

// --- over a real table -------------------------------------------------------------------------

describe('paging through a table', () => {
  let orm: MikroORM;

  // Ten rows over four instants, inserted out of order; ids compare the same in any collation.
  const base = Date.parse('2026-11-26T10:00:00.000Z');
  const table: Row[] = [
    ['r07', 2],
    ['r01', 0],
    ['r05', 1],
    ['r09', 3],
    ['r03', 1],
    ['r02', 0],
    ['r10', 3],
    ['r04', 1],
    ['r08', 2],
    ['r06', 1],
  ].map(([id, second], i) =>
    Object.assign(new Row(), {
      id: id as string,
      createdAt: new Date(base + (second as number) * 1000),
      kind: i % 3 === 0 ? 'odd' : 'even',
    }),
  );
  /** The ids in keyset order, as the database should return them. */
  function sorted(direction: KeysetDirection, rows: readonly Row[] = table): string[] {
    const ids = [...rows]
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
      .map((row) => row.id);
    return direction === 'asc' ? ids : ids.reverse();
  }

  beforeAll(async () => {
    orm = await MikroORM.init({
      driver: LibSqlDriver,
      dbName: ':memory:',
      entities: [RowSchema],
      allowGlobalContext: false,
      discovery: { warnWhenNoEntities: false },
    });
    await orm.schema.createSchema();
    const em = orm.em.fork();
    for (const row of table) em.persist(Object.assign(new Row(), row));
    await em.flush();
  });

  afterAll(() => orm.close(true));

  /** Every page of size `first` from the start, each read by a fresh EntityManager. */
  async function walk(
    first: number,
    direction: KeysetDirection,
    where: { kind?: string } = {},
  ): Promise<Page<Row>[]> {
    const pages: Page<Row>[] = [];
    let after: string | null = null;
    for (;;) {
      const query: KeysetQuery<Row> = keysetQuery<Row>(where, { first, after, direction });
      const page: Page<Row> = toPage(
        await orm.em.fork().find(Row, query.where, query.options),
        first,
      );
      pages.push(page);
      if (!page.pageInfo.hasNextPage) return pages;
      if (pages.length > table.length) throw new Error('the walk does not end');
      after = page.pageInfo.endCursor;
    }
  }

  it.each<[KeysetDirection, number]>([
    ['asc', 1],
    ['asc', 3],
    ['asc', 4],
    ['desc', 2],
    ['desc', 3],
    ['desc', 10],
    ['desc', 11],
  ])(
    '%s, %i a page: every row once, in order, a next page until the last',
    async (direction, first) => {
      const pages = await walk(first, direction);
      expect(pages.flatMap((p) => p.edges.map((e) => e.node.id))).toEqual(sorted(direction));
      expect(pages).toHaveLength(Math.ceil(table.length / first));
      for (const [i, page] of pages.entries()) {
        const last = i === pages.length - 1;
        expect(page.edges).toHaveLength(last ? table.length - first * i : first);
        expect(page.pageInfo.hasNextPage).toBe(!last);
        expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor);
      }
    },
  );

  it('ends with no next page when the last page is exactly full', async () => {
    const pages = await walk(5, 'asc');
    expect(pages.map((p) => [p.edges.length, p.pageInfo.hasNextPage])).toEqual([
      [5, true],
      [5, false],
    ]);
  });

  it('keeps the caller filter on every page', async () => {
    const pages = await walk(2, 'desc', { kind: 'odd' });
    const odd = table.filter((row) => row.kind === 'odd');
    expect(pages.flatMap((p) => p.edges.map((e) => e.node.id))).toEqual(sorted('desc', odd));
  });

  it('resumes within a tie after a cursor whose row is gone', async () => {
    // A row deleted since its cursor was handed out, between r04 and r05 (same second as r03-r06).
    const after = encodeCursor({ createdAt: new Date(base + 1000), id: 'r04a' });
    const query = keysetQuery<Row>({}, { first: 2, after, direction: 'asc' });
    const rows = await orm.em.fork().find(Row, query.where, query.options);
    expect(rows.map((row) => row.id)).toEqual(['r05', 'r06', 'r07']);
    expect(toPage(rows, 2).pageInfo.hasNextPage).toBe(true);
  });
});
