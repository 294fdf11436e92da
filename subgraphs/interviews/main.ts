/**
 * Entry point of the interviews subgraph: `node dist/subgraphs/interviews/main.js` once built (`npm run build`),
 * `node --import tsx subgraphs/interviews/main.ts` from source, or the whole
 * platform with `npm start`. See `../shared/main.ts` for what it needs and does.
 */
import { runSubgraph } from '../shared/main';
import { interviewsSubgraph } from './server';

runSubgraph('interviews', interviewsSubgraph);
