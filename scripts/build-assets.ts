/**
 * Second half of `npm run build` (after `tsc -p tsconfig.build.json`): copies the files the
 * runtime reads beside its modules (`__dirname`), such as each subgraph's `schema.graphql` and
 * the local broker's `pom.xml`, from the source folders into dist/, so the compiled code finds
 * them where the source does. Files the runtime reads from the working directory
 * (`supergraph.graphql`, `SUPERGRAPH_PATH`) stay in the project root.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../lib/project-root';

/** The folders tsconfig.build.json compiles. */
export const RUNTIME_FOLDERS = [
  'config',
  'events',
  'gateway',
  'lib',
  'notifications',
  'subgraphs',
  'scripts',
] as const;

/** What is compiled (sources) or read by people only (docs) rather than by the runtime. */
function isAsset(file: string): boolean {
  return !/\.(ts|md)$/.test(file);
}

/** Every runtime asset under the runtime folders, relative to `root`. */
export function runtimeAssets(root: string = PROJECT_ROOT): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(child);
      } else if (entry.isFile() && isAsset(entry.name)) {
        found.push(child);
      }
    }
  };
  for (const folder of RUNTIME_FOLDERS) walk(folder);
  return found.sort();
}

function main(): void {
  const outDir = path.join(PROJECT_ROOT, 'dist');
  const assets = runtimeAssets();
  for (const asset of assets) {
    const target = path.join(outDir, asset);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(PROJECT_ROOT, asset), target);
  }
  console.log(`Copied ${assets.length} runtime files into ${path.relative(PROJECT_ROOT, outDir)}/`);
}

if (require.main === module) main();
