/** Read models rebuilt from the log: see rebuild.ts; `npm run rebuild` is its command. */
export * from './read-model';
export * from './compare';
export { rebuildReadModel, type RebuildOptions } from './rebuild';
