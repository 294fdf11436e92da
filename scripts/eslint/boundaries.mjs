/**
 * The direction of imports between the project's top-level folders, as an ESLint rule
 * (`boundaries/layers` in eslint.config.mjs). A folder may import only the folders its entry of
 * {@link LAYERS} lists (and packages); a relative import that leaves the allowed folders is
 * reported with the rule that forbids it:
 *
 * - `config/` and `lib/` import no domain code; `contracts/` (what gateway and subgraphs agree
 *   on: identity, the internal token, error codes) imports only those;
 * - `events/` (the Kafka contract and machinery) imports neither the gateway nor the services;
 * - the gateway, the subgraphs and the notification service never import each other, and none of
 *   them imports development tooling (`scripts/`), tests or benchmarks;
 * - `web/` (the browser app) imports only itself, tests included, and nothing imports it: it
 *   reaches the platform over HTTP and WebSocket only, and is bundled apart by Vite.
 *
 * Tests (`*.test.ts`) may also import `test/` and `scripts/` (the development IdP, the broker).
 * Folders not listed (scripts, test, bench, deploy, the root) may import anything but `web/`.
 */
import * as path from 'node:path';

const RUNTIME_BASE = ['config', 'lib', 'contracts'];

/** Each folder, and the project folders it may import from (besides itself). */
export const LAYERS = {
  config: [],
  lib: ['config'],
  contracts: ['config', 'lib'],
  events: RUNTIME_BASE,
  gateway: [...RUNTIME_BASE, 'events'],
  subgraphs: [...RUNTIME_BASE, 'events'],
  notifications: [...RUNTIME_BASE, 'events'],
  web: [],
};

/** Folders that import only themselves, in tests too, and that no other folder imports. */
const SEALED = new Set(['web']);

/** What tests may import on top of their folder's layer. */
const TEST_EXTRAS = ['test', 'scripts', 'generated'];

const WHY = {
  config: 'config/ imports no project code: it only reads the environment',
  lib: 'lib/ holds generic pieces and imports no domain code',
  contracts: 'contracts/ is what gateway and subgraphs agree on; it depends on neither',
  events:
    'events/ is the Kafka contract and machinery; it imports neither the gateway nor the services',
  gateway: 'the gateway talks to subgraphs over HTTP only and never imports a service',
  subgraphs: 'subgraphs never import the gateway or the notification service',
  notifications: 'the notification service never imports the gateway or the subgraphs',
  web: 'web/ is the browser app; it talks to the platform over HTTP and WebSocket only',
};

/** Why nothing outside a {@link SEALED} folder imports it. */
const WHY_SEALED = {
  web: 'web/ is bundled for the browser by Vite, apart from the Node code',
};

/** The top-level folder of `file` (relative to `root`), or undefined outside the project. */
function topFolder(root, file) {
  const relative = path.relative(root, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const [first, ...rest] = relative.split(path.sep);
  return rest.length > 0 ? first : '';
}

/** @type {import('eslint').Rule.RuleModule} */
const layers = {
  meta: {
    type: 'problem',
    docs: { description: 'Keeps the direction of imports between top-level folders' },
    schema: [],
    messages: {
      forbidden: '{{from}}/ must not import {{to}}/ ({{specifier}}): {{why}}.',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = context.filename;
    const from = topFolder(root, file);
    if (from === undefined) return {};
    const allowed = LAYERS[from];
    const isTest = /\.test\.tsx?$/.test(file);
    const extras = isTest && !SEALED.has(from) ? TEST_EXTRAS : [];
    // Unlisted folders may import anything but a sealed folder.
    const permitted = allowed ? new Set([from, ...allowed, ...extras]) : undefined;
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = topFolder(root, path.resolve(path.dirname(file), source.value));
      if (target === undefined || target === from) return;
      let why;
      // A sealed folder imports nothing outside itself, not even the root's files.
      if (SEALED.has(from)) why = WHY[from];
      else if (target === '') return;
      else if (SEALED.has(target)) why = WHY_SEALED[target];
      else if (permitted && !permitted.has(target)) why = WHY[from];
      if (!why) return;
      const name = (folder) => (folder === '' ? '(the project root)' : folder);
      context.report({
        node: source,
        messageId: 'forbidden',
        data: { from: name(from), to: name(target), specifier: source.value, why },
      });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
    };
  },
};

export default { rules: { layers } };
