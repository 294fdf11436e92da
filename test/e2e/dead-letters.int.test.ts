/**
 * The dead-letter tooling against the real platform (startTestPlatform): a registration whose
 * email is taken is dead-lettered by the users service at once (CONFLICT); the conflict is fixed;
 * `npm run dlq -- replay` (its `main`) sends it back, and the profile appears once; a second
 * replay changes nothing (the users group dedupes by eventId) while its `dlq-replays` says 2.
 * Then list and discard filters, and the reporting subgraph's admin fields.
 */
import { randomUUID } from 'node:crypto';
import { CONSUMER_GROUPS, readHeaders } from '../../events';
import { ProcessedEvent } from '../../events/consumers';
import { createDeadLetterStore, type DeadLetterStore } from '../../events/dead-letters';
import { main, type DlqIo } from '../../scripts/dlq';
import { User, UserActivity } from '../../subgraphs/users/entities';
import { createReportingSubgraph } from '../../subgraphs/reporting/server';
import { startTestPlatform, type TestPlatform } from '../platform';
import {
  groupCaughtUp,
  readTopic,
  testAdmin,
  testBrokers,
  testDatabases,
  testUser,
  waitFor,
} from '../helpers';
import { graphql, startTestSubgraph, type TestSubgraph } from '../subgraph-helpers';

jest.setTimeout(120_000);

describe('dead letters: list, replay, discard', () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;
  const owner = testUser('owner');
  const late = testUser('late');
  const email = `taken-${randomUUID().slice(0, 8)}@example.com`;
  let lateEventId: string;

  beforeAll(async () => {
    platform = await startTestPlatform();
    env = { KAFKA_BROKERS: testBrokers().join(','), KAFKA_TOPIC_PREFIX: platform.topicPrefix };
  });
  afterAll(async () => {
    await platform?.stop();
  });

  /** Runs `npm run dlq -- ...argv`; resolves with its exit code and output. */
  async function dlq(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: DlqIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env };
    const code = await main(argv, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  const users = () => platform.subgraphs.users.database.fork();
  const me = async (who: typeof late) =>
    graphql<{ me: { id: string; email: string } | null }>(
      platform.gatewayUrl,
      '{ me { id email } }',
      {},
      who,
    );

  it('dead-letters a registration whose email is taken, and lists it with its filters', async () => {
    await platform.register({ ...owner, email });
    await waitFor('the owner', async () => (await me(owner)).data?.me?.email === email);
    lateEventId = (await platform.register({ ...late, email })).eventId;

    await waitFor(
      'the dead letter',
      async () => (await dlq('list', '--id', lateEventId)).out.includes(lateEventId),
      30_000,
    );
    const listed = await dlq(
      'list',
      '--topic',
      'user-events',
      '--group',
      CONSUMER_GROUPS.users,
      '--type',
      'user.registered',
      '--reason',
      'ALREADY BELONGS',
    );
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/^ID\s+FAILED AT\s+TYPE/);
    expect(listed.out).toContain(lateEventId);
    expect(listed.out).toContain(`${platform.topicPrefix}${CONSUMER_GROUPS.users}`);
    // Each filter on its own excludes it.
    for (const flags of [
      ['--topic', 'interview-events'],
      ['--group', CONSUMER_GROUPS.reporting],
      ['--type', 'user.logged_out'],
      ['--reason', 'timeout'],
      ['--since', new Date(Date.now() + 60_000).toISOString()],
      ['--until', '2020-01-01T00:00:00Z'],
    ]) {
      const { code, out } = await dlq('list', ...flags);
      expect([flags, code, out.includes(lateEventId)]).toEqual([flags, 0, false]);
    }
    const shown = await dlq('show', '--id', lateEventId);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain('dlq-reason');
    expect(shown.out).toContain(`"email": "${email}"`);
    expect(shown.out).toMatch(/status\s+open/);
    expect(await me(late)).toMatchObject({ data: { me: null } });
  });

  it('replays it once the conflict is fixed: handled once, and a second replay changes nothing', async () => {
    // The dry run sends nothing.
    const dry = await dlq('replay', '--id', lateEventId, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('1 would be replayed');
    expect(await me(late)).toMatchObject({ data: { me: null } });

    // The fix: the owner's email changes, so the late registration no longer conflicts.
    await users().nativeUpdate(User, { id: owner.userId }, { email: `moved-${email}` });

    const first = await dlq('replay', '--id', lateEventId);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/DLQ-REPLAYS[\s\S]*\s1\n1 replayed/);
    await waitFor('the late profile', async () => (await me(late)).data?.me?.email === email);

    // Replayed already: skipped unless asked.
    const again = await dlq('replay', '--id', lateEventId);
    expect(again.code).toBe(0);
    expect(again.out).toContain('0 replayed');
    expect(again.out).toContain('already replayed (--all takes it)');

    const second = await dlq('replay', '--id', lateEventId, '--all');
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/\s2\n1 replayed/);
    const replays = await readTopic(
      `${platform.topicPrefix}user-events`,
      (messages) =>
        messages.filter((m) => readHeaders(m.headers)['event-id'] === lateEventId).length === 3,
    );
    expect(
      replays
        .map((m) => readHeaders(m.headers))
        .filter((h) => h['event-id'] === lateEventId)
        .map((h) => h['dlq-replays'] ?? null),
    ).toEqual([null, '1', '2']);
    await groupCaughtUp(platform.topicPrefix, CONSUMER_GROUPS.users, 'user-events');
    // Handled once: one profile, one registration activity, one processed-event record.
    expect(await users().count(User, { id: late.userId })).toBe(1);
    expect(await users().count(UserActivity, { userId: late.userId, kind: 'REGISTRATION' })).toBe(
      1,
    );
    expect(
      await users().count(ProcessedEvent, {
        eventId: lateEventId,
        groupId: CONSUMER_GROUPS.users,
      }),
    ).toBe(1);
    // Nothing was dead-lettered again.
    expect((await dlq('list', '--id', lateEventId, '--all')).out).toMatch(/1 dead letter$/);
    expect((await dlq('list', '--id', lateEventId)).out).toBe('No dead letters match.');
  });

  it('discards a dead letter: list and replay skip it unless asked', async () => {
    const third = testUser('third');
    const thirdEventId = (await platform.register({ ...third, email })).eventId;
    await waitFor('the third dead letter', async () =>
      (await dlq('list', '--id', thirdEventId)).out.includes(thirdEventId),
    );
    expect((await dlq('discard', '--reason', third.userId, '--dry-run')).out).toContain(
      '1 would be discarded',
    );
    expect((await dlq('list', '--id', thirdEventId)).out).toContain(thirdEventId);
    const discarded = await dlq('discard', '--reason', third.userId);
    expect(discarded.code).toBe(0);
    expect(discarded.out).toContain('1 discarded');
    expect((await dlq('list', '--type', 'user.registered')).out).not.toContain(thirdEventId);
    expect((await dlq('list', '--all', '--id', thirdEventId)).out).toMatch(/\sdiscarded\s/);
    const replay = await dlq('replay', '--id', thirdEventId);
    expect(replay.out).toContain('already discarded');
    expect(replay.out).toContain('0 replayed');
    expect((await dlq('show', '--id', 'user-events.dlq/0/999999')).code).toBe(1);
  });

  describe('GraphQL, admins only', () => {
    let store: DeadLetterStore;
    let reporting: TestSubgraph;
    beforeAll(async () => {
      store = createDeadLetterStore({ brokers: testBrokers(), topicPrefix: platform.topicPrefix });
      // A reporting subgraph with the tooling on the platform's topics; its own consumers read
      // topics of a prefix of their own, so they leave the platform's groups alone.
      reporting = await startTestSubgraph(
        createReportingSubgraph({ deadLetters: store }),
        testDatabases()[0]!.config,
        `${platform.topicPrefix}gql.`,
      );
    });
    afterAll(async () => {
      await reporting?.stop();
      await store?.stop();
    });

    const DEAD_LETTERS = `query ($filter: DeadLetterFilter) {
      deadLetters(filter: $filter) { id eventId eventType group status replays reason headers { name value } }
    }`;
    const REPLAY = `mutation ($ids: [ID!]!, $all: Boolean) {
      replayDeadLetters(ids: $ids, includeResolved: $all) {
        replayed { id eventId replays status } skipped { id reason } notFound
      }
    }`;
    type Letter = { id: string; eventId: string; status: string; replays: number };

    it('lists dead letters for admins, with filters', async () => {
      const all = await graphql<{ deadLetters: Letter[] }>(
        reporting.url,
        DEAD_LETTERS,
        { filter: { topics: ['user-events'], includeResolved: true } },
        testAdmin(),
      );
      expect(all.errors).toBeUndefined();
      expect(all.data?.deadLetters.find((l) => l.eventId === lateEventId)).toMatchObject({
        status: 'REPLAYED',
        replays: 2,
        eventType: 'user.registered',
        group: `${platform.topicPrefix}${CONSUMER_GROUPS.users}`,
      });
      const open = await graphql<{ deadLetters: Letter[] }>(
        reporting.url,
        DEAD_LETTERS,
        { filter: { reason: 'already belongs' } },
        testAdmin(),
      );
      expect(open.data?.deadLetters.map((l) => l.status)).toEqual([]);
      const bad = await graphql(
        reporting.url,
        DEAD_LETTERS,
        { filter: { topics: ['x'] } },
        testAdmin(),
      );
      expect(bad.errors?.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
    });

    it('replays by id for admins; a replay of an event some group handled changes nothing there', async () => {
      const [letter] =
        (
          await graphql<{ deadLetters: Letter[] }>(
            reporting.url,
            DEAD_LETTERS,
            { filter: { includeResolved: true, eventType: 'user.registered' } },
            testAdmin(),
          )
        ).data?.deadLetters.filter((l) => l.eventId === lateEventId) ?? [];
      expect(letter).toBeDefined();
      const skipped = await graphql<{ replayDeadLetters: Record<string, unknown> }>(
        reporting.url,
        REPLAY,
        { ids: [letter!.id, 'user-events.dlq/0/999999'] },
        testAdmin(),
      );
      expect(skipped.errors).toBeUndefined();
      expect(skipped.data?.replayDeadLetters).toEqual({
        replayed: [],
        skipped: [{ id: letter!.id, reason: 'already replayed' }],
        notFound: ['user-events.dlq/0/999999'],
      });
      const replayed = await graphql<{ replayDeadLetters: { replayed: Letter[] } }>(
        reporting.url,
        REPLAY,
        { ids: [lateEventId], all: true },
        testAdmin(),
      );
      expect(replayed.data?.replayDeadLetters.replayed).toEqual([
        { id: letter!.id, eventId: lateEventId, replays: 3, status: 'REPLAYED' },
      ]);
      await groupCaughtUp(platform.topicPrefix, CONSUMER_GROUPS.users, 'user-events');
      expect(await users().count(UserActivity, { userId: late.userId, kind: 'REGISTRATION' })).toBe(
        1,
      );
      const malformed = await graphql(reporting.url, REPLAY, { ids: ['nope'] }, testAdmin());
      expect(malformed.errors?.map((e) => e.extensions?.['code'])).toEqual(['BAD_USER_INPUT']);
    });

    it('refuses non-admins with FORBIDDEN, through the gateway too', async () => {
      for (const url of [reporting.url, platform.gatewayUrl]) {
        const list = await graphql(url, DEAD_LETTERS, {}, testUser('nosy'));
        expect(list.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
        const replay = await graphql(url, REPLAY, { ids: [lateEventId] }, testUser('nosy'));
        expect(replay.errors?.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
      }
      const anonymous = await graphql(reporting.url, DEAD_LETTERS);
      expect(anonymous.errors?.map((e) => e.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    });
  });
});
