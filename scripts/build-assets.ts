/**
 * Second half of `npm run build` (after `tsc -p tsconfig.build.json`): copies the files the
 * runtime reads beside its modules (`__dirname`), such as each subgraph's `schema.graphql` and
 * the local broker's `pom.xml`, from the source folders into dist/, so the compiled code finds
 * them where the source does, and removes what an earlier build left of deleted sources. Files
 * the runtime reads from the working directory (`supergraph.graphql`, `SUPERGRAPH_PATH`) stay in
 * the project root.
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

/**
 * What is compiled (sources), read by people only (docs) or run at install (the plain JavaScript
 * of `scripts/patch-dependencies.js` and its patches, `postinstall`) rather than by the runtime.
 */
function isAsset(file: string): boolean {
  return !/\.(ts|md|js)$/.test(file);
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

/** The source in the project a file of dist/ (relative path) was compiled or copied from. */
function sourceOf(distFile: string): string {
  return distFile.replace(/\.js(\.map)?$/, '.ts');
}

/**
 * Files of `outDir` whose source is gone (a module renamed or deleted since the last build): tsc
 * never removes what it emitted before, and a stale module could still be required.
 */
function staleFiles(outDir: string, root: string): string[] {
  const stale: string[] = [];
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(outDir, relative), { withFileTypes: true })) {
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      // Tests are never compiled by tsconfig.build.json: one in dist/ came from another build.
      else if (
        /\.test\.js(\.map)?$/.test(child) ||
        !fs.existsSync(path.join(root, sourceOf(child)))
      )
        stale.push(child);
    }
  };
  for (const folder of RUNTIME_FOLDERS) {
    if (fs.existsSync(path.join(outDir, folder))) walk(folder);
  }
  return stale;
}

function main(): void {
  const outDir = path.join(PROJECT_ROOT, 'dist');
  const assets = runtimeAssets();
  for (const asset of assets) {
    const target = path.join(outDir, asset);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(path.join(PROJECT_ROOT, asset), target);
  }
  const stale = staleFiles(outDir, PROJECT_ROOT);
  for (const file of stale) fs.rmSync(path.join(outDir, file));
  console.log(
    `Copied ${assets.length} runtime files into ${path.relative(PROJECT_ROOT, outDir)}/` +
      (stale.length > 0 ? `, removed ${stale.length} left from deleted sources` : ''),
  );
}

if (require.main === module) main();
