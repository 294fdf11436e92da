/**
 * SQLite's per-connection settings survive the pool replacing its connection (MikroORM's libSQL
 * dialect does so once a connection is 10 s old): a writer keeps waiting for a locked database
 * instead of failing at once, and commits keep syncing as configured. And `takeWriteLock`: a
 * transaction that reads and then writes waits for another process's writer instead of failing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { waitFor } from '../test/helpers';
import { openDatabase, takeWriteLock } from './database';

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

describe('takeWriteLock on SQLite', () => {
  /**
   * Another process holds the file's write lock for `ms`, then commits its own increment: as a
   * read model's swap (`npm run rebuild`) does.
   */
  async function lockedByAnotherProcess(file: string, ms: number) {
    const script = `
      const Database = require('libsql');
      const db = new Database(${JSON.stringify(file)});
      db.exec('pragma busy_timeout = 5000');
      db.exec('begin immediate');
      db.exec('update counter set n = n + 1');
      process.stdout.write('locked\\n');
      setTimeout(() => { db.exec('commit'); process.stdout.write('committed\\n'); }, ${ms});
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('the other process to hold the lock', () => output.includes('locked'));
    return { done: new Promise<number | null>((resolve) => child.on('exit', resolve)) };
  }

  it('makes a transaction that reads and then writes wait for another writer instead of failing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ig-test-db-'));
    const database = await openDatabase({
      name: 'locks',
      config: { url: undefined, dataDir },
      entities: [],
      migrations: [],
    });
    const file = join(dataDir, 'locks.sqlite');
    const increment = (lockFirst: boolean) =>
      database.fork().transactional(async (em) => {
        if (lockFirst) await takeWriteLock(em);
        const connection = em.getConnection();
        const context = em.getTransactionContext();
        const [row] = (await connection.execute('select n from counter', [], 'all', context)) as {
          n: number;
        }[];
        await new Promise((resolve) => setTimeout(resolve, 100)); // the other writer commits
        await connection.execute('update counter set n = ?', [row!.n + 1], 'run', context);
      });
    try {
      const connection = database.orm.em.getConnection();
      await connection.execute('create table counter (n integer not null)');
      await connection.execute('insert into counter (n) values (0)');

      // With it: it waits for the other process's commit and counts on top of it.
      let other = await lockedByAnotherProcess(file, 300);
      await increment(true);
      expect(await other.done).toBe(0);
      expect(await connection.execute('select n from counter')).toEqual([{ n: 2 }]);

      // Without: the same transaction fails at its write. (Last: libSQL's connection then
      // refuses writes until the pool replaces it, up to 10 s later; see the README.)
      other = await lockedByAnotherProcess(file, 50);
      await expect(increment(false)).rejects.toThrow(/SQLITE_BUSY|database is locked/i);
      expect(await other.done).toBe(0);
    } finally {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
