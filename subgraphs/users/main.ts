/**
 * Entry point of the users subgraph: `node dist/subgraphs/users/main.js` once built (`npm run build`),
 * `node --import tsx subgraphs/users/main.ts` from source, or the whole
 * platform with `npm start`. See `../shared/main.ts` for what it needs and does.
 */
import { runSubgraph } from '../shared/main';
import { usersSubgraph } from './server';

runSubgraph('users', usersSubgraph);
