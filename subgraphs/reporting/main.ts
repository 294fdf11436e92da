/**
 * Entry point of the reporting subgraph: `node dist/subgraphs/reporting/main.js` once built (`npm run build`),
 * `node --import tsx subgraphs/reporting/main.ts` from source, or the whole
 * platform with `npm start`. See `../shared/main.ts` for what it needs and does.
 */
import { runSubgraph } from '../shared/main';
import { reportingSubgraph } from './server';

runSubgraph('reporting', reportingSubgraph);
