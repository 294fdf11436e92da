/**
 * The account erasure saga survives the death of its processes: the platform runs as real
 * processes (each `main.ts`, as `npm start` runs them); the interviews service is killed
 * (SIGKILL) so the saga waits on its step, then the orchestrator (the users service) is killed
 * too, mid-saga. Both restarted, the saga resumes from the databases and the log and completes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { encodeIdentity, IDENTITY_HEADER, type Identity } from '../../contracts/identity';
import { UserEventFactory, type KafkaService } from '../../events';
import {
  deleteTopicsWithPrefix,
  testAdmin,
  testKafka,
  testUser,
  topicPrefix,
  waitFor,
} from '../helpers';
import { startPlatformProcesses, type PlatformProcesses, type ServiceProcess } from '../processes';
import { postGraphQL } from '../subgraph-helpers';

jest.setTimeout(180_000);

interface Saga {
  id: string;
  status: string;
  currentStep: string | null;
  steps: { name: string; status: string; attempts: number }[];
}

describe('account erasure across process restarts', () => {
  const prefix = topicPrefix('erasure-restart');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'ig-erasure-restart-'));
  const admin = testAdmin();
  let platform: PlatformProcesses;
  let publisher: KafkaService;

  beforeAll(async () => {
    platform = await startPlatformProcesses({ prefix, dataDir });
    publisher = testKafka('api-gateway', prefix);
    await publisher.start();
  });

  afterAll(async () => {
    await publisher?.stop();
    await platform?.stop();
    await deleteTopicsWithPrefix(prefix);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const gql = <T>(query: string, variables: Record<string, unknown>, who: Identity = admin) =>
    postGraphQL<T>(`${platform.gatewayUrl}/graphql`, query, variables, {
      [IDENTITY_HEADER]: encodeIdentity(who),
    });

  async function saga(id: string): Promise<Saga | null> {
    const r = await gql<{ accountErasure: Saga | null }>(
      `query ($id: ID!) { accountErasure(id: $id) { id status currentStep steps { name status attempts } } }`,
      { id },
    ).catch(() => undefined);
    return r?.data?.accountErasure ?? null;
  }

  async function kill(service: ServiceProcess): Promise<void> {
    const exited = new Promise((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGKILL');
    await exited;
  }

  it('resumes a saga whose participant and orchestrator were killed mid-way', async () => {
    const who = testUser('restart');
    await publisher.publishEvent(
      'user-events',
      UserEventFactory.createUserRegistered(who.userId, `${who.userId}@example.com`, {
        firstName: 'Grace',
      }),
    );
    await waitFor('the profile', async () => {
      const r = await gql<{ user: { id: string } | null }>(
        `query ($id: ID!) { user(id: $id) { id } }`,
        { id: who.userId },
      );
      return Boolean(r.data?.user);
    });

    // The interviews service dies: the saga will wait on cancel-interviews.
    await kill(platform.interviews);
    const asked = await gql<{ requestAccountErasure: Saga }>(
      `mutation ($id: ID!) { requestAccountErasure(userId: $id) { id status } }`,
      { id: who.userId },
      who,
    );
    expect(asked.errors).toBeUndefined();
    const id = asked.data!.requestAccountErasure.id;
    await waitFor('the saga to wait on cancel-interviews', async () => {
      const s = await saga(id);
      return s?.currentStep === 'cancel-interviews';
    });
    // And the orchestrator dies, mid-saga.
    await kill(platform.users);

    await platform.interviews.restart();
    await platform.users.restart();
    await waitFor(
      'the saga to complete',
      async () => (await saga(id))?.status === 'COMPLETED',
      90_000,
    );
    const done = (await saga(id))!;
    expect(done.steps.map((s) => s.status)).toEqual(Array(6).fill('COMPLETED'));
    const erased = await gql<{ user: { email: string; firstName: string | null } }>(
      `query ($id: ID!) { user(id: $id) { email firstName } }`,
      { id: who.userId },
    );
    expect(erased.data!.user).toEqual({ email: `erased-${id}@erased.invalid`, firstName: null });
  });
});
