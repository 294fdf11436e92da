/**
 * `npm run register -- <userId> <email> [firstName] [lastName]`: publishes `user.registered`,
 * as the identity provider's registration webhook will, so a development platform started with
 * `npm start` gets a user. Uses KAFKA_BROKERS, or the local broker's port.
 */
import { ConfigError, loadConfig } from '../config';
import { KafkaService, UserEventFactory } from '../events';

async function main(): Promise<void> {
  const [userId, email, firstName, lastName] = process.argv.slice(2);
  if (!userId || !email) {
    console.error('usage: npm run register -- <userId> <email> [firstName] [lastName]');
    process.exit(2);
  }
  const config = loadConfig();
  const brokers = config.kafka.brokers ?? [`127.0.0.1:${config.localKafka.port}`];
  const event = UserEventFactory.createUserRegistered(userId, email, {
    ...(firstName ? { firstName } : {}),
    ...(lastName ? { lastName } : {}),
  });
  const kafka = new KafkaService('api-gateway', {
    brokers,
    topicPrefix: config.kafka.topicPrefix,
    announce: false,
    topics: ['user-events'],
  });
  await kafka.start();
  try {
    await kafka.publishEvent('user-events', event);
  } finally {
    await kafka.stop();
  }
  console.log(`Published user.registered for ${userId} <${email}> (event ${event.eventId}).`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
