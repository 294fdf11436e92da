/**
 * Entry point of the reporting subgraph: `node dist/subgraphs/reporting/main.js` once built (`npm run build`),
 * `node --import tsx subgraphs/reporting/main.ts` from source, or the whole
 * platform with `npm start`. See `../shared/main.ts` for what it needs and does. Admins reach the
 * dead letters through it, on the subgraph's own cluster and topic prefix; that client connects
 * on first use and ends with the process.
 */
import { loadConfigOrExit, loadSubgraphConfig } from '../../config';
import { createDeadLetterStore } from '../../events/dead-letters';
import { runSubgraph } from '../shared/main';
import { createReportingSubgraph } from './server';

const { kafka } = loadConfigOrExit(loadSubgraphConfig);
const deadLetters = createDeadLetterStore({
  brokers: kafka.brokers,
  topicPrefix: kafka.topicPrefix,
  replicationFactor: kafka.replicationFactor,
  minInsyncReplicas: kafka.minInsyncReplicas,
});
runSubgraph('reporting', createReportingSubgraph({ deadLetters }));
