/**
 * Entry point of the reporting subgraph: `node --import tsx subgraphs/reporting/main.ts`, or the whole
 * platform with `npm start`. See `../shared/main.ts` for what it needs and does.
 */
import { runSubgraph } from '../shared/main';
import { reportingSubgraph } from './server';

runSubgraph('reporting', reportingSubgraph);
