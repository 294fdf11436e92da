/**
 * SQLite's per-connection settings survive the pool replacing its connection (MikroORM's libSQL
 * dialect does so once a connection is 10 s old): a writer keeps waiting for a locked database
 * instead of failing at once, and commits keep syncing as configured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './database';

jest.setTimeout(30_000);

it('keeps busy_timeout, synchronous and foreign_keys on connections opened later', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ig-test-db-'));
  const database = await openDatabase({
    name: 'pragmas',
    config: { url: undefined, dataDir },
    entities: [],
    migrations: [],
  });
  try {
    const pragmas = async () => {
      const connection = database.orm.em.getConnection();
      return {
        busy: await connection.execute('pragma busy_timeout'),
        synchronous: await connection.execute('pragma synchronous'),
        foreignKeys: await connection.execute('pragma foreign_keys'),
      };
    };
    const expected = {
      busy: [{ timeout: 5000 }],
      synchronous: [{ synchronous: 1 }], // NORMAL
      foreignKeys: [{ foreign_keys: 1 }],
    };
    expect(await pragmas()).toEqual(expected);
    // Past the dialect's 10 s: the next query runs on a new connection.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    expect(await pragmas()).toEqual(expected);
  } finally {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
