/**
 * The project's root folder (the one holding package.json), the same whether this module runs
 * from its TypeScript source under tsx or compiled into dist/ by `npm run build`: paths that
 * belong to the checkout (`.cache/`, the working directory of `npm start`'s children) resolve
 * against it, never against `__dirname`, which is one level deeper in dist/.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The nearest folder at or above `from` that holds a package.json. */
export function findProjectRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`No package.json at or above ${from}: cannot find the project root`);
    }
  }
}

export const PROJECT_ROOT = findProjectRoot();

/**
 * `.ts` under tsx (the source runs as it is), `.js` when compiled: the extension entry points
 * spawned beside this module have.
 */
export const MODULE_EXTENSION = path.extname(__filename);
