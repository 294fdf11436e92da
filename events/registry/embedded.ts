/**
 * An embedded schema registry: the subset of Confluent Schema Registry's REST API this platform
 * uses, in memory, for development and tests (the default when no `SCHEMA_REGISTRY_URL` names a
 * real one: Confluent, Karapace, Redpanda or Apicurio's `/apis/ccompat/v7`).
 *
 * - `POST /subjects/{subject}/versions` `{"schemaType":"JSON","schema":"<json>"}` → `{"id":N}`;
 *   the same schema on the same subject returns the same id (no new version); ids are global, so
 *   the same schema under another subject gets the id it already has.
 * - `GET /schemas/ids/{id}` → `{"schema":"...","schemaType":"JSON"}`.
 * - `GET /subjects`, `GET /subjects/{s}/versions`, `GET /subjects/{s}/versions/{v|latest}`.
 * - Errors as Confluent writes them: `{"error_code":40401,"message":"Subject not found"}`; a
 *   schema that is no valid JSON Schema (2020-12) is refused with 422 / 42201 and ajv's message.
 *   Only JSON schemas are stored: a missing `schemaType` means AVRO, as in Confluent, and is refused.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newAjv } from './ajv';

/** Confluent's content type, on every response. */
export const REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** A running embedded registry. */
export interface EmbeddedRegistry {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Closes the server and its connections. Idempotent. */
  stop(): Promise<void>;
}

/** Where the embedded registry listens. */
export interface EmbeddedRegistryOptions {
  /** @default 0: a free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

const MAX_BODY = 4 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const subjectNotFound = () => new HttpError(404, 40401, 'Subject not found');
const versionNotFound = () => new HttpError(404, 40402, 'Version not found');
const schemaNotFound = () => new HttpError(404, 40403, 'Schema not found');

interface Stored {
  id: number;
  schema: string;
}

/** The registry's state and its operations, apart from HTTP. */
class SchemaStore {
  private readonly byId = new Map<number, Stored>();
  private readonly idByCanonical = new Map<string, number>();
  /** Subject → its versions' schema ids, version n at index n-1. */
  private readonly subjects = new Map<string, number[]>();

  register(subject: string, body: unknown): { id: number } {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(422, 422, 'the request body must be a JSON object');
    const { schema, schemaType, references } = body as Record<string, unknown>;
    if (typeof schema !== 'string')
      throw new HttpError(422, 42201, 'Invalid schema: "schema" must be a string');
    const type = schemaType ?? 'AVRO';
    if (type !== 'JSON')
      throw new HttpError(
        422,
        42201,
        `Invalid schema: schemaType ${JSON.stringify(type)} is not supported by the embedded registry (JSON only)`,
      );
    if (Array.isArray(references) && references.length > 0)
      throw new HttpError(422, 42201, 'Invalid schema: references are not supported');
    const canonical = this.canonical(schema);
    const versions = this.subjects.get(subject) ?? [];
    let id = this.idByCanonical.get(canonical);
    if (id !== undefined && versions.includes(id)) return { id };
    if (id === undefined) {
      id = this.byId.size + 1;
      this.byId.set(id, { id, schema: canonical });
      this.idByCanonical.set(canonical, id);
    }
    versions.push(id);
    this.subjects.set(subject, versions);
    return { id };
  }

  schema(id: string): { schema: string; schemaType: 'JSON' } {
    const stored = /^\d+$/.test(id) ? this.byId.get(Number(id)) : undefined;
    if (stored === undefined) throw schemaNotFound();
    return { schema: stored.schema, schemaType: 'JSON' };
  }

  subjectNames(): string[] {
    return [...this.subjects.keys()].sort();
  }

  versions(subject: string): number[] {
    const versions = this.subjects.get(subject);
    if (versions === undefined) throw subjectNotFound();
    return versions.map((_, i) => i + 1);
  }

  version(subject: string, version: string) {
    const versions = this.subjects.get(subject);
    if (versions === undefined) throw subjectNotFound();
    let n: number;
    if (version === 'latest' || version === '-1') n = versions.length;
    else if (/^\d+$/.test(version) && Number(version) >= 1) n = Number(version);
    else
      throw new HttpError(
        422,
        42202,
        `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
      );
    const id = versions[n - 1];
    if (id === undefined) throw versionNotFound();
    const stored = this.byId.get(id) as Stored;
    return { subject, version: n, id, schemaType: 'JSON', schema: stored.schema };
  }

  /** The schema's canonical text (whitespace-free JSON), once checked to be a JSON Schema. */
  private canonical(schema: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(schema);
    } catch (error) {
      throw new HttpError(422, 42201, `Invalid schema: not JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'boolean' && (typeof parsed !== 'object' || parsed === null))
      throw new HttpError(422, 42201, 'Invalid schema: a JSON Schema is an object or a boolean');
    try {
      // A fresh ajv each time: two schemas may carry the same `$id`.
      newAjv().compile(parsed as object);
    } catch (error) {
      throw new HttpError(422, 42201, `Invalid schema: ${(error as Error).message}`);
    }
    return JSON.stringify(parsed);
  }
}

/** Routes one request; returns the response body or throws an {@link HttpError}. */
function route(store: SchemaStore, method: string, path: string, body: unknown): unknown {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const allow = (m: string) => {
    if (method !== m) throw new HttpError(405, 405, 'HTTP 405 Method Not Allowed');
  };
  if (parts[0] === 'subjects') {
    if (parts.length === 1) return (allow('GET'), store.subjectNames());
    const subject = parts[1] as string;
    if (parts[2] === 'versions' && parts.length === 3) {
      if (method === 'POST') return store.register(subject, body);
      return (allow('GET'), store.versions(subject));
    }
    if (parts[2] === 'versions' && parts.length === 4)
      return (allow('GET'), store.version(subject, parts[3] as string));
  }
  if (parts[0] === 'schemas' && parts[1] === 'ids' && parts.length === 3)
    return (allow('GET'), store.schema(parts[2] as string));
  throw new HttpError(404, 404, 'HTTP 404 Not Found');
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 413, 'request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 400, `the request body is not JSON: ${(error as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': REGISTRY_CONTENT_TYPE }).end(JSON.stringify(body));
}

/** Starts an empty in-memory registry on `host:port` (127.0.0.1, a free port by default). */
export async function startEmbeddedRegistry(
  options: EmbeddedRegistryOptions = {},
): Promise<EmbeddedRegistry> {
  const store = new SchemaStore();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://registry').pathname;
    readBody(req)
      .then((body) => send(res, 200, route(store, req.method ?? 'GET', path, body)))
      .catch((error: unknown) => {
        if (error instanceof HttpError)
          send(res, error.status, { error_code: error.errorCode, message: error.message });
        else send(res, 500, { error_code: 50001, message: String(error) });
      });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
