import type { Admin } from 'kafkajs';
import { fetchTopicMetadata } from './admin';

/** kafkajs's error for a topic the broker asked does not know (yet). */
const unknownTopic = () =>
  Object.assign(new Error('This server does not host this topic-partition'), {
    type: 'UNKNOWN_TOPIC_OR_PARTITION',
  });

/** An admin (the explicit parameter) whose metadata answers are scripted, in turn. */
function scriptedAdmin(answers: (() => unknown)[]): { admin: Admin; asked: () => number } {
  let asked = 0;
  const admin = {
    fetchTopicMetadata: async () => answers[Math.min(asked++, answers.length - 1)]!(),
  } as unknown as Admin;
  return { admin, asked: () => asked };
}

const known = () => ({ topics: [{ name: 't', partitions: [{ partitionId: 0, leader: 1 }] }] });

describe('fetchTopicMetadata', () => {
  it('asks again while the broker does not know the new topic, then returns its metadata', async () => {
    const { admin, asked } = scriptedAdmin([
      () => {
        throw unknownTopic();
      },
      () => {
        throw new TypeError("Cannot read properties of undefined (reading 'partitions')");
      },
      known,
    ]);
    await expect(fetchTopicMetadata(admin, 't')).resolves.toEqual(known().topics[0]);
    expect(asked()).toBe(3);
  });

  it('gives up with the broker error after the wait', async () => {
    const { admin } = scriptedAdmin([
      () => {
        throw unknownTopic();
      },
    ]);
    await expect(fetchTopicMetadata(admin, 't', 300)).rejects.toThrow('does not host');
  });

  it('does not retry other errors', async () => {
    const { admin, asked } = scriptedAdmin([
      () => {
        throw Object.assign(new Error('not authorized'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
      },
    ]);
    await expect(fetchTopicMetadata(admin, 't')).rejects.toThrow('not authorized');
    expect(asked()).toBe(1);
  });
});
