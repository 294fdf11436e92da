#!/usr/bin/env node
/**
 * `postinstall`: applies the platform's fixes to installed dependencies, in place, after every
 * `npm ci` / `npm install` (the image's too). Plain JavaScript, so it runs before anything is
 * compiled and with production dependencies only.
 *
 * Each patch replaces one file of one exact package version, and only when the file is the one
 * that version shipped (by SHA-256): another version, or a file changed by something else, stops
 * the install with a message saying what to check, rather than running an unpatched client.
 *
 * - kafkajs 2.2.4 `src/producer/sendMessages.js`: a retried send skipped every broker that had
 *   already answered, so messages for a partition whose leader died and moved to such a broker
 *   were lost while the send resolved (seen with a broker killed on a 3-broker cluster). The
 *   fixed file is `scripts/patches/kafkajs-2.2.4-sendMessages.js`.
 */
'use strict';
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

const PATCHES = [
  {
    name: 'kafkajs',
    version: '2.2.4',
    file: 'src/producer/sendMessages.js',
    original: '8a120e6993955e040a13014cccebd79b8d41e7355d6eda1065fa83fea2fbbcdb',
    replacement: path.join(__dirname, 'patches', 'kafkajs-2.2.4-sendMessages.js'),
  },
];

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** Applies every patch; returns one line per package, or throws with what is wrong. */
function patchDependencies(root = ROOT) {
  const lines = [];
  for (const patch of PATCHES) {
    const packageDir = path.join(root, 'node_modules', patch.name);
    const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
    if (manifest.version !== patch.version) {
      throw new Error(
        `${patch.name} ${manifest.version} is installed, but scripts/patch-dependencies.js fixes ${patch.version}: check whether ${manifest.version} still has the bug it fixes (${patch.file}), then update or drop the patch.`,
      );
    }
    const target = path.join(packageDir, patch.file);
    const installed = fs.readFileSync(target, 'utf8');
    const fixed = fs.readFileSync(patch.replacement, 'utf8');
    if (installed === fixed) {
      lines.push(`${patch.name} ${patch.version}: ${patch.file} already patched`);
      continue;
    }
    if (sha256(installed) !== patch.original) {
      throw new Error(
        `${target} is neither ${patch.name} ${patch.version}'s own file nor the patched one; reinstall ${patch.name} (npm ci).`,
      );
    }
    fs.writeFileSync(target, fixed);
    lines.push(`${patch.name} ${patch.version}: patched ${patch.file}`);
  }
  return lines;
}

/** Whether `name`'s installed files are the patched ones (checked when the client is loaded). */
function isPatched(name, root = ROOT) {
  return PATCHES.filter((p) => p.name === name).every((patch) => {
    const target = path.join(root, 'node_modules', patch.name, patch.file);
    return fs.readFileSync(target, 'utf8') === fs.readFileSync(patch.replacement, 'utf8');
  });
}

module.exports = { PATCHES, patchDependencies, isPatched };

if (require.main === module) {
  try {
    for (const line of patchDependencies()) console.log(`patch-dependencies: ${line}`);
  } catch (error) {
    console.error(`patch-dependencies: ${error.message}`);
    process.exit(1);
  }
}
