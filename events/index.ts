export * from './envelope';
export * from './topics';
export * from './catalog';
export * from './validate';
export * from './factories';
export * from './kafka/kafka-service';
export * from './kafka/headers';
