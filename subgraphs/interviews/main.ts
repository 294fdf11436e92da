/**
 * Entry point of the interviews subgraph: `node --import tsx subgraphs/interviews/main.ts`, or the whole
 * platform with `npm start`. See `../shared/main.ts` for what it needs and does.
 */
import { runSubgraph } from '../shared/main';
import { interviewsSubgraph } from './server';

runSubgraph('interviews', interviewsSubgraph);
