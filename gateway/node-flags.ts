/**
 * Node.js flags the gateway process runs with (`npm start`, docker-compose.yml, the Dockerfile).
 *
 * `--max-semi-space-size=4` (MiB): V8's young generation grows to its default maximum (16 MiB
 * per semi-space) while the gateway builds its schemas and query planner at start, and keeps
 * that size while idle: about 25 MB of an idle gateway's RSS (measured with `npm run
 * bench:memory`). Request garbage is small, so a 4 MiB young generation collects it just as
 * well, a little more often.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
