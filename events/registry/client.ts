/**
 * A schema registry client for Confluent's REST API (Confluent, Karapace, Redpanda, Apicurio's
 * `/apis/ccompat/v7`, and the embedded registry of embedded.ts), JSON schemas only.
 *
 * - `register(subject, schema)` registers a schema under a subject once per process: the id is
 *   cached, and concurrent calls for the same subject and schema share one request.
 * - `schemaById(id)` fetches a schema once; `validatorById(id)` compiles it once (ajv 2020 with
 *   formats).
 * - A failed request is not cached: the next call asks again. Errors are
 *   {@link SchemaRegistryError}s saying which registry, which request, and what went wrong
 *   (unreachable, or the HTTP status with the registry's own message); `retriable` is true when
 *   asking again later may help (unreachable, timeout, 5xx).
 */
import type { ValidateFunction } from 'ajv';
import { newAjv } from './ajv';
import { REGISTRY_CONTENT_TYPE } from './embedded';

/** A JSON Schema document. */
export type JsonSchema = Record<string, unknown> | boolean;

/** What producers and consumers need of a schema registry. */
export interface SchemaRegistry {
  /** The registry's base URL, as configured (without a trailing slash). */
  readonly url: string;
  /** The global id of `schema` under `subject`, registering it on first use. */
  register(subject: string, schema: JsonSchema): Promise<number>;
  /** The schema with global id `id`. */
  schemaById(id: number): Promise<JsonSchema>;
  /** An ajv validator of the schema with id `id`, compiled once. */
  validatorById(id: number): Promise<ValidateFunction>;
}

/** Options of {@link createSchemaRegistry}. */
export interface SchemaRegistryOptions {
  /** The registry's base URL, e.g. `http://registry:8081` or `http://apicurio:8080/apis/ccompat/v7`. */
  url: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How long one request may take. @default 10_000 */
  timeoutMs?: number;
}

/** A registry request that failed, or a registry URL that is no http(s) URL. */
export class SchemaRegistryError extends Error {
  override readonly name = 'SchemaRegistryError';
  constructor(
    message: string,
    /** True when asking again later may help: unreachable, timed out, or a 5xx. */
    readonly retriable: boolean,
    /** The HTTP status, when the registry answered. */
    readonly status?: number,
    /** Confluent's `error_code`, when the registry gave one (40401, 42201, ...). */
    readonly errorCode?: number,
  ) {
    super(message);
  }
}

/** The base URL without its trailing slash. @throws {SchemaRegistryError} when not http(s). */
export function registryBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SchemaRegistryError(
      `schema registry URL ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8081)`,
      false,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new SchemaRegistryError(
      `schema registry URL ${JSON.stringify(url)} must be http:// or https://`,
      false,
    );
  return url.replace(/\/+$/, '');
}

/** A client of the registry at `url`. @throws {SchemaRegistryError} when `url` is not http(s). */
export function createSchemaRegistry(options: SchemaRegistryOptions): SchemaRegistry {
  const base = registryBaseUrl(options.url);
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const registered = new Map<string, Promise<number>>();
  const schemas = new Map<number, Promise<JsonSchema>>();
  const validators = new Map<number, Promise<ValidateFunction>>();

  async function request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const what = `${method} ${path}`;
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: { accept: REGISTRY_CONTENT_TYPE, 'content-type': REGISTRY_CONTENT_TYPE },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = error as Error & { cause?: { code?: string; message?: string } };
      const detail =
        cause.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : (cause.cause?.code ?? cause.cause?.message ?? cause.message);
      throw new SchemaRegistryError(
        `schema registry ${base} is unreachable (${what}): ${detail}`,
        true,
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const { error_code: code, message } = (json ?? {}) as {
        error_code?: unknown;
        message?: unknown;
      };
      const detail =
        typeof message === 'string' ? message : text.slice(0, 200) || response.statusText;
      throw new SchemaRegistryError(
        `schema registry ${base} refused ${what}: HTTP ${response.status}${typeof code === 'number' ? ` (error ${code})` : ''}: ${detail}`,
        response.status >= 500,
        response.status,
        typeof code === 'number' ? code : undefined,
      );
    }
    if (json === undefined)
      throw new SchemaRegistryError(`schema registry ${base} answered ${what} with no JSON`, true);
    return json;
  }

  /** Caches `load`'s promise under `key`; a rejected one is forgotten, so the next call retries. */
  function once<K, V>(cache: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
    let promise = cache.get(key);
    if (promise === undefined) {
      promise = load();
      cache.set(key, promise);
      promise.catch(() => cache.delete(key));
    }
    return promise;
  }

  const registry: SchemaRegistry = {
    url: base,
    register(subject, schema) {
      const text = JSON.stringify(schema);
      return once(registered, `${subject}\n${text}`, async () => {
        const path = `/subjects/${encodeURIComponent(subject)}/versions`;
        const answer = (await request('POST', path, { schemaType: 'JSON', schema: text })) as {
          id?: unknown;
        };
        if (typeof answer.id !== 'number')
          throw new SchemaRegistryError(
            `schema registry ${base} answered POST ${path} without an id`,
            true,
          );
        return answer.id;
      });
    },
    schemaById(id) {
      return once(schemas, id, async () => {
        const path = `/schemas/ids/${id}`;
        const answer = (await request('GET', path)) as { schema?: unknown; schemaType?: unknown };
        if (answer.schemaType !== undefined && answer.schemaType !== 'JSON')
          throw new SchemaRegistryError(
            `schema ${id} of registry ${base} is ${String(answer.schemaType)}, not a JSON schema`,
            false,
          );
        if (typeof answer.schema !== 'string')
          throw new SchemaRegistryError(
            `schema registry ${base} answered GET ${path} without a schema`,
            true,
          );
        try {
          return JSON.parse(answer.schema) as JsonSchema;
        } catch (error) {
          throw new SchemaRegistryError(
            `schema ${id} of registry ${base} is not JSON: ${(error as Error).message}`,
            false,
          );
        }
      });
    },
    validatorById(id) {
      return once(validators, id, async () => {
        const schema = await registry.schemaById(id);
        try {
          // One ajv per schema: two schemas may carry the same `$id`.
          return newAjv().compile(schema);
        } catch (error) {
          throw new SchemaRegistryError(
            `schema ${id} of registry ${base} is no valid JSON Schema: ${(error as Error).message}`,
            false,
          );
        }
      });
    },
  };
  return registry;
}
