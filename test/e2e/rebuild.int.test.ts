/**
 * `npm run rebuild` on the whole platform: reporting (reports, stats, audit trail) and the users'
 * activity rebuilt from the topics into a fresh store and swapped in while GraphQL queries run
 * throughout, none failing; a corrupted live row found and refused, then repaired with --force
 * (through the real CLI); events published during a rebuild not lost.
 */
import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { CONSUMER_GROUPS, UserEventFactory } from '../../events';
import { rebuildReadModel, type RebuildReport } from '../../events/rebuild';
import { knexOf } from '../../events/rebuild/tables';
import type { Database } from '../../lib/database';
import { PROJECT_ROOT } from '../../lib/project-root';
import { reportingReadModel } from '../../subgraphs/reporting/read-model';
import { usersReadModel } from '../../subgraphs/users/read-model';
import type { Identity } from '../../contracts/identity';
import {
  groupCaughtUp,
  randomName,
  testAdmin,
  testBrokers,
  testDatabases,
  testUser,
  waitFor,
} from '../helpers';
import { createInterview, gatewayCaller, startTestPlatform, type TestPlatform } from '../platform';

jest.setTimeout(240_000);

/** The file or schema name a platform's subgraph database was given. */
function databaseName(database: Database): string {
  return database.schema ?? basename(String(database.orm.config.get('dbName')), '.sqlite');
}

describe.each(testDatabases())('rebuilding read models on $label', ({ config }) => {
  let platform: TestPlatform;
  const admin = testAdmin();
  const alice = testUser('alice');
  const bob = testUser('bob');
  const gql = gatewayCaller(() => platform.gatewayUrl, alice);

  beforeAll(async () => {
    platform = await startTestPlatform({ database: config });
    for (const who of [alice, bob]) await platform.register(who, { firstName: who.userId });
    await waitFor('both profiles', async () => {
      const me = async (who: Identity) =>
        (await gql<{ me: { id: string } | null }>('{ me { id } }', {}, who)).data?.me?.id;
      return (await me(alice)) === alice.userId && (await me(bob)) === bob.userId;
    });
  });

  afterAll(() => platform?.stop());

  const act = async (mutation: string, id: string, who: Identity, extra = '') => {
    const response = await gql(
      `mutation ($id: ID!) { ${mutation}(id: $id${extra}) { status } }`,
      { id },
      who,
    );
    expect(response.errors).toBeUndefined();
  };

  /** One interview of `who` through its lifecycle, ending as `end`. */
  async function interview(
    who: Identity,
    end: 'completed' | 'cancelled' | 'in progress' | 'scheduled',
  ): Promise<string> {
    const { id, questions } = await createInterview(
      gql,
      { title: randomName('screen'), position: 'Engineer', questions: ['One?', 'Two?', 'Three?'] },
      who,
    );
    if (end === 'scheduled') {
      await act('scheduleInterview', id, who, ', scheduledFor: "2099-01-01T10:00:00.000Z"');
      return id;
    }
    if (end === 'cancelled') {
      await act('cancelInterview', id, who, ', reason: "changed plans"');
      return id;
    }
    await act('startInterview', id, who);
    for (const [i, question] of questions.slice(0, end === 'completed' ? 3 : 1).entries()) {
      const answered = await gql(
        `mutation ($i: ID!, $q: ID!, $c: String!) { submitAnswer(interviewId: $i, questionId: $q, content: $c) { status } }`,
        { i: id, q: question, c: `answer ${i} ${'word '.repeat(10 + i * 7)}` },
        who,
      );
      expect(answered.errors).toBeUndefined();
    }
    if (end === 'completed') await act('completeInterview', id, who);
    return id;
  }

  /** Waits until every group the read models are built by has handled everything published. */
  async function caughtUp(): Promise<void> {
    const prefix = platform.topicPrefix;
    await groupCaughtUp(prefix, CONSUMER_GROUPS.reporting, 'interview-events');
    for (const topic of ['user-events', 'interview-events', 'system-events'])
      await groupCaughtUp(prefix, CONSUMER_GROUPS.audit, topic);
    for (const topic of ['user-events', 'interview-events'])
      await groupCaughtUp(prefix, CONSUMER_GROUPS.users, topic);
  }

  const REPORTS = `{ me { interviews { id status report { interviewId candidateId status answers totalQuestions completion wordCount durationSeconds score completed lastEventAt } } stats { interviewsCreated interviewsCompleted interviewsCancelled answersSubmitted averageScore } } }`;
  const STATS = `{ platformStats { interviews inProgress completed cancelled answers averageScore eventsProcessed } }`;
  const AUDIT = `{ auditTrail(first: 1000) { eventId topic eventType source actor subject occurredAt recordedAt } }`;

  /** Reports, stats and the audit trail (without `recordedAt`, which a rebuild rewrites). */
  async function reporting(): Promise<unknown> {
    const reports = [];
    for (const who of [alice, bob]) {
      const response = await gql(REPORTS, {}, who);
      expect(response.errors).toBeUndefined();
      reports.push(response.data);
    }
    const stats = await gql(STATS, {}, admin);
    expect(stats.errors).toBeUndefined();
    const audit = await gql<{ auditTrail: Record<string, unknown>[] }>(AUDIT, {}, admin);
    expect(audit.errors).toBeUndefined();
    const trail = audit.data!.auditTrail.map(({ recordedAt: _, ...entry }) => entry);
    return { reports, stats: stats.data, trail };
  }

  /** The audit trail's `recordedAt`s, by eventId. */
  async function recordedAt(): Promise<Map<string, string>> {
    const audit = await gql<{ auditTrail: { eventId: string; recordedAt: string }[] }>(
      AUDIT,
      {},
      admin,
    );
    return new Map(audit.data!.auditTrail.map((e) => [e.eventId, e.recordedAt]));
  }

  /**
   * Runs `query` in a loop until `work` settles, counting answers and failures (a GraphQL error,
   * a non-200, a thrown fetch).
   */
  async function queriedThroughout<T>(
    query: () => Promise<{ status: number; errors?: unknown }>,
    work: () => Promise<T>,
  ): Promise<{ result: T; ok: number; failed: unknown[] }> {
    let running = true;
    let ok = 0;
    const failed: unknown[] = [];
    const loop = (async () => {
      while (running) {
        try {
          const response = await query();
          if (response.status === 200 && response.errors === undefined) ok++;
          else failed.push(response.errors ?? response.status);
        } catch (error) {
          failed.push(error);
        }
      }
    })();
    try {
      return { result: await work(), ok, failed };
    } finally {
      running = false;
      await loop;
    }
  }

  const queryReporting = async () => {
    const [a, b] = await Promise.all([gql(STATS, {}, admin), gql(REPORTS, {}, alice)]);
    return a.errors || a.status !== 200 ? a : b;
  };

  type Model = 'reporting' | 'users';
  const subgraphOf = (model: Model) => platform.subgraphs[model].database;

  /** `npm run rebuild` as operators run it, in a process of its own, with the platform's env. */
  const cli = (model: Model, ...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/rebuild.ts',
          model,
          '--database-name',
          databaseName(subgraphOf(model)),
          ...args,
        ],
        {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            KAFKA_BROKERS: testBrokers().join(','),
            KAFKA_TOPIC_PREFIX: platform.topicPrefix,
            DATA_DIR: config.dataDir,
            DATABASE_URL: config.url ?? '',
            LOG_LEVEL: 'error',
            LOG_FORMAT: 'json',
          },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  const rebuildInProcess = (
    readModel: typeof reportingReadModel,
    model: Model,
    options: { dryRun?: boolean } = {},
  ) =>
    rebuildReadModel({
      readModel,
      database: config,
      databaseName: databaseName(subgraphOf(model)),
      kafka: { brokers: testBrokers(), topicPrefix: platform.topicPrefix },
      ...options,
    });

  /**
   * A rebuild that swaps: on PostgreSQL in this process; on SQLite through the CLI, in a process
   * of its own as operators run it. libsql waits for a locked database synchronously, so a live
   * consumer of this process waiting for the swap's write lock would stall this process's event
   * loop, the rebuild's own commit included, for its busy timeout (5 s).
   */
  async function rebuild(model: Model): Promise<RebuildReport> {
    const readModel = model === 'reporting' ? reportingReadModel : usersReadModel;
    if (config.url) return rebuildInProcess(readModel, model);
    const run = await cli(model, '--json');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as RebuildReport;
  }

  const expectEqual = (report: RebuildReport) => {
    expect(report.tables.map((t) => [t.table, t.different, t.onlyLive, t.onlyRebuilt])).toEqual(
      report.tables.map((t) => [t.table, 0, 0, 0]),
    );
    expect(report.equal).toBe(true);
  };

  it('rebuilds reports, stats and audit equal to the live ones, swapping while queries go on', async () => {
    await interview(alice, 'completed');
    await interview(alice, 'cancelled');
    await interview(alice, 'in progress');
    await interview(bob, 'completed');
    await interview(bob, 'scheduled');
    await caughtUp();
    const before = await reporting();
    const recordedBefore = await recordedAt();

    const {
      result: report,
      ok,
      failed,
    } = await queriedThroughout(queryReporting, () => rebuild('reporting'));
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expectEqual(report);
    expect(report.swapped).toBe(true);
    expect(report.lockMs).toBeGreaterThanOrEqual(0);
    const replayed = (group: string, topic: string) =>
      report.topics.find((t) => t.group === group && t.topic === topic)?.replayed ?? 0;
    expect(replayed(CONSUMER_GROUPS.reporting, 'interview-events')).toBeGreaterThanOrEqual(15);
    expect(replayed(CONSUMER_GROUPS.audit, 'user-events')).toBeGreaterThanOrEqual(2);
    const rows = (table: string) => report.tables.find((t) => t.table === table);
    expect(rows('interview_report')).toMatchObject({ live: 5, rebuilt: 5, equal: 5 });

    expect(await reporting()).toEqual(before);
    // The trail now holds the rebuilt entries: recorded again, during the rebuild.
    const recordedAfter = await recordedAt();
    expect([...recordedAfter.keys()].sort()).toEqual([...recordedBefore.keys()].sort());
    for (const [eventId, at] of recordedAfter)
      expect(at > (recordedBefore.get(eventId) as string)).toBe(true);
  });

  it('finds a corrupted live report and refuses to swap, then repairs it with --force (the CLI)', async () => {
    const id = await interview(bob, 'completed');
    await caughtUp();
    const before = await reporting();
    const live = knexOf(platform.subgraphs.reporting.database);
    const table = () => {
      const schema = platform.subgraphs.reporting.database.schema;
      return schema
        ? live.withSchema(schema).table('interview_report')
        : live.table('interview_report');
    };
    await table().where('interview_id', id).update({ answers: 99, score: 1 });
    const corrupted = await reporting();
    expect(corrupted).not.toEqual(before);

    const refused = await cli('reporting');
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 3, stderr: '' });
    expect(refused.stdout).toMatch(/interview_report\s+\d+\s+\d+\s+\d+\s+1\s/);
    expect(refused.stdout).toContain(`["${id}"]: answers 99 → 3`);
    expect(refused.stdout).toContain('not swapped: the stores differ');
    expect(await reporting()).toEqual(corrupted);

    const dryRun = await cli('reporting', '--dry-run');
    expect(dryRun.code).toBe(3);

    const forced = await cli('reporting', '--force');
    expect({ code: forced.code, stderr: forced.stderr }).toEqual({ code: 0, stderr: '' });
    expect(forced.stdout).toContain('swapped: the live tables hold the rebuilt content');
    expect(forced.stdout).toMatch(/write lock held \d+ ms/);
    expect(await reporting()).toEqual(before);

    const again = await cli('reporting', '--dry-run');
    expect(again.code).toBe(0);
  });

  it('loses no event published during a rebuild', async () => {
    const ids: string[] = [];
    let rebuilding = true;
    let duringRebuild = 0;
    const traffic = (async () => {
      while (rebuilding) {
        ids.push(await interview(ids.length % 2 ? alice : bob, 'completed'));
        if (rebuilding) duringRebuild++;
      }
    })();
    const { result: report, failed } = await queriedThroughout(queryReporting, async () => {
      try {
        await waitFor('a first interview', () => ids.length > 0);
        return await rebuild('reporting');
      } finally {
        rebuilding = false;
        await traffic;
      }
    });
    expect(failed).toEqual([]);
    expect(report.swapped).toBe(true);
    expect(duringRebuild).toBeGreaterThan(0);
    await caughtUp();

    for (const id of ids) {
      const response = await gql<{ interview: { report: { status: string; answers: number } } }>(
        `query ($id: ID!) { interview(id: $id) { report { status answers } } }`,
        { id },
        admin,
      );
      expect(response.data?.interview.report).toEqual({ status: 'completed', answers: 3 });
    }
    // In this process: a dry run takes no lock.
    expectEqual(await rebuildInProcess(reportingReadModel, 'reporting', { dryRun: true }));
  });

  it("rebuilds the users' activity equal to the live one while queries go on", async () => {
    for (const who of [alice, bob]) {
      await platform.gatewayEvents.publishEvent(
        'user-events',
        UserEventFactory.createUserAuthenticated(
          who.userId,
          `${who.userId}@example.com`,
          randomName('s'),
          {
            authMethod: 'oauth2',
          },
        ),
      );
      const updated = await gql(
        `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`,
        { input: { company: `Company of ${who.userId}`, lastName: 'Lovelace' } },
        who,
      );
      expect(updated.errors).toBeUndefined();
      await platform.gatewayEvents.publishEvent(
        'user-events',
        UserEventFactory.createUserLoggedOut(who.userId, randomName('s')),
      );
    }
    await caughtUp();
    const ACTIVITY = `query ($id: ID!) { user(id: $id) { recentActivity(first: 50) { kind eventType eventId occurredAt description details { name value } } } }`;
    const activity = async () => {
      const out = [];
      for (const who of [alice, bob]) {
        const response = await gql(ACTIVITY, { id: who.userId }, admin);
        expect(response.errors).toBeUndefined();
        out.push(response.data);
      }
      return out;
    };
    const before = await activity();
    expect(JSON.stringify(before)).toContain('"kind":"PROFILE"');
    expect(JSON.stringify(before)).toContain('"kind":"INTERVIEW"');

    const {
      result: report,
      ok,
      failed,
    } = await queriedThroughout(
      () => gql(ACTIVITY, { id: alice.userId }, admin),
      () => rebuild('users'),
    );
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expectEqual(report);
    expect(report.swapped).toBe(true);
    expect(await activity()).toEqual(before);
    // Profiles are the users service's own: untouched.
    const me = await gql<{ me: { company: string } }>('{ me { company } }', {}, alice);
    expect(me.data?.me.company).toBe(`Company of ${alice.userId}`);
  });
});
