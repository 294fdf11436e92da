/**
 * What the sign-in routes and the webhook share at HTTP (JSON answers are lib/http-server.ts's
 * `sendJson`): the error body
 * `{ "error": CODE, "message": ... }` with the code's status from the registry
 * (contracts/errors.ts), the method check and a bounded body read.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERROR_CODES, type ErrorCode } from '../../contracts/errors';
import { sendJson } from '../../lib/http-server';

/**
 * Answers with the error `code`: the registry's HTTP status and `{ error: code, message }`, plus
 * `details` (e.g. the invalid `fields`).
 */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  options: { headers?: Record<string, string>; details?: Record<string, unknown> } = {},
): void {
  sendJson(
    res,
    ERROR_CODES[code].httpStatus,
    { error: code, message, ...options.details },
    options.headers,
  );
}

/** Answers 405 `METHOD_NOT_ALLOWED` (with `Allow`) unless the request is `allowed`; true if it did. */
export function methodNotAllowed(
  req: IncomingMessage,
  res: ServerResponse,
  allowed: 'GET' | 'POST',
): boolean {
  if (req.method === allowed) return false;
  sendError(res, 'METHOD_NOT_ALLOWED', `Use ${allowed}`, { headers: { allow: allowed } });
  return true;
}

/** The request body as UTF-8, or undefined when it is larger than `limit` bytes. */
export function readRaw(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
