export * from './idempotent';
export * from './batch';
