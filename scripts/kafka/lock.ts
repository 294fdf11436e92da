/**
 * One broker per data dir: `<dataDir>/local-kafka.pid` names the node process that owns it and,
 * once started, its java process and addresses.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { LocalKafkaError } from './errors';
import { isLiveProcess, readOrUndefined } from './system';

/** The hold on a data dir that `claimDataDir` returns. */
export interface DataDirOwner {
  /** Adds the started java process and its addresses to the pid file, for a second start's message. */
  record(javaPid: number, brokers: string[]): Promise<void>;
  /** Deletes the pid file. Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes `<dataDir>/local-kafka.pid`. Two brokers on one data dir do not just fail: the second one's
 * controller writes to the metadata log before Kafka's own `.lock` is taken and can kill the first
 * (seen: "Unexpected error in raft IO thread"), so a second start must be refused before java runs.
 * A file whose processes are all gone (a crash, a SIGKILL) is stale and is taken over.
 * @throws {LocalKafkaError} when a live broker holds the data dir.
 */
export async function claimDataDir(dataDir: string): Promise<DataDirOwner> {
  const file = path.join(dataDir, 'local-kafka.pid');
  const text = (owner: number, javaPid?: number, brokers?: string[]): string =>
    `${JSON.stringify({ owner, java: javaPid, brokers })}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.writeFile(file, text(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
    }
    const holder = parsePidFile(await readOrUndefined(file));
    if (
      holder !== undefined &&
      (isLiveProcess(holder.owner, 'node') ||
        (holder.java !== undefined && isLiveProcess(holder.java, dataDir)))
    ) {
      const where = holder.brokers === undefined ? '' : ` on ${holder.brokers.join(',')}`;
      throw new LocalKafkaError(
        `Another local Kafka broker (pid ${holder.java ?? holder.owner}${where}) is already using ${dataDir}. Stop it first, use another data dir, or point KAFKA_BROKERS at it. (If that process is not a broker, delete ${file}.)`,
      );
    }
    await fsp.rm(file, { force: true });
  }
  let released = false;
  return {
    async record(javaPid, brokers) {
      await fsp.writeFile(file, text(process.pid, javaPid, brokers));
    },
    async release() {
      if (released) return;
      released = true;
      await fsp.rm(file, { force: true });
    },
  };
}

function parsePidFile(
  raw: string | undefined,
): { owner: number; java?: number; brokers?: string[] } | undefined {
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return undefined;
    const { owner, java, brokers } = value as Record<string, unknown>;
    if (typeof owner !== 'number') return undefined;
    return {
      owner,
      ...(typeof java === 'number' ? { java } : {}),
      ...(Array.isArray(brokers) ? { brokers: brokers.map(String) } : {}),
    };
  } catch {
    return undefined;
  }
}
