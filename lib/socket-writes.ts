/**
 * Writing what one tick gathered for a socket, as the live transports do (gateway/websocket.ts,
 * gateway/http-subscriptions/stream.ts): many small buffers cost a syscall and a callback each,
 * so a tick's worth goes out as one write.
 */
import type { Writable } from 'node:stream';

/**
 * A socket's outgoing bytes beyond which live results wait in their subscriber's bounded queue
 * (gateway/subscriptions/queue.ts) instead of the socket's buffer. Above Node's own high-water
 * mark (16 KiB), so the socket is sure to emit `drain` once it has room again.
 */
export const SOCKET_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Up to this many bytes of one tick are copied into one buffer and written at once; more (large
 * results) go out corked, as a vector, without the copy.
 */
export const COALESCE_BYTES = 16 * 1024;

/** Writes `chunks` (`bytes` in all) to `socket` in one go: see the module's comment. */
export function writeCoalesced(socket: Writable, chunks: readonly Buffer[], bytes: number): void {
  if (bytes <= COALESCE_BYTES) {
    socket.write(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes));
    return;
  }
  socket.cork();
  for (const chunk of chunks) socket.write(chunk);
  socket.uncork();
}
