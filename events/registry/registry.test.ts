/**
 * The embedded registry (Confluent's REST API, in memory) and the client against it: ids,
 * subjects and versions, Confluent's error bodies, the client's caches and errors, the producer's
 * schema ids, and the consumer's validation of versions the catalog lacks.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../config';
import { jsonSchemaOf, subjectOf } from '../schemas/json-schema';
import { createSchemaRegistry, SchemaRegistryError, type SchemaRegistry } from './client';
import { REGISTRY_CONTENT_TYPE, startEmbeddedRegistry, type EmbeddedRegistry } from './embedded';
import { schemaIds } from './schema-ids';
import { parseSchemaId, unknownToCatalog, validateByRegistry } from './unknown-version';

const personSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' } },
  required: ['name'],
  additionalProperties: false,
};

let registry: EmbeddedRegistry;
beforeEach(async () => {
  registry = await startEmbeddedRegistry();
});
afterEach(() => registry.stop());

/** One raw request to the embedded registry. */
async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown; type: string | null }> {
  const response = await fetch(`${registry.url}${path}`, {
    method,
    headers: { 'content-type': REGISTRY_CONTENT_TYPE },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: await response.json(),
    type: response.headers.get('content-type'),
  };
}

const post = (subject: string, schema: unknown, schemaType: string | null = 'JSON') =>
  call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
    ...(schemaType ? { schemaType } : {}),
    schema: typeof schema === 'string' ? schema : JSON.stringify(schema),
  });

/** A client whose requests are counted. */
function countingClient(): { client: SchemaRegistry; requests: string[] } {
  const requests: string[] = [];
  const client = createSchemaRegistry({
    url: registry.url,
    fetch: (input, init) => {
      requests.push(`${init?.method ?? 'GET'} ${String(input).slice(registry.url.length)}`);
      return fetch(input, init);
    },
  });
  return { client, requests };
}

describe('embedded registry', () => {
  it('binds 127.0.0.1 on a free port', () => {
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(registry.url).not.toMatch(/:0$/);
  });

  it('gives the same schema on the same subject the same id, and a new schema a new version', async () => {
    const first = await post('s-a', personSchema);
    expect(first).toEqual({ status: 200, body: { id: 1 }, type: REGISTRY_CONTENT_TYPE });
    // Whitespace does not make another schema.
    expect((await post('s-a', JSON.stringify(personSchema, null, 2))).body).toEqual({ id: 1 });
    expect((await call('GET', '/subjects/s-a/versions')).body).toEqual([1]);
    const other = { ...personSchema, required: ['name', 'email'] };
    expect((await post('s-a', other)).body).toEqual({ id: 2 });
    expect((await call('GET', '/subjects/s-a/versions')).body).toEqual([1, 2]);
  });

  it('keeps ids global: the same schema under another subject has the id it has', async () => {
    await post('s-a', personSchema);
    await post('s-a', { type: 'string' });
    expect((await post('s-b', personSchema)).body).toEqual({ id: 1 });
    expect((await call('GET', '/subjects')).body).toEqual(['s-a', 's-b']);
    expect((await call('GET', '/subjects/s-b/versions')).body).toEqual([1]);
  });

  it('serves schemas by id and versions by number and latest', async () => {
    await post('s-a', personSchema);
    await post('s-a', { type: 'string' });
    expect((await call('GET', '/schemas/ids/2')).body).toEqual({
      schema: '{"type":"string"}',
      schemaType: 'JSON',
    });
    expect((await call('GET', '/subjects/s-a/versions/1')).body).toEqual({
      subject: 's-a',
      version: 1,
      id: 1,
      schemaType: 'JSON',
      schema: JSON.stringify(personSchema),
    });
    expect((await call('GET', '/subjects/s-a/versions/latest')).body).toMatchObject({
      version: 2,
      id: 2,
    });
  });

  it("answers what it does not have with Confluent's error bodies", async () => {
    await post('s-a', personSchema);
    expect(await call('GET', '/subjects/nope/versions')).toEqual({
      status: 404,
      body: { error_code: 40401, message: 'Subject not found' },
      type: REGISTRY_CONTENT_TYPE,
    });
    expect((await call('GET', '/subjects/nope/versions/latest')).body).toEqual({
      error_code: 40401,
      message: 'Subject not found',
    });
    expect(await call('GET', '/subjects/s-a/versions/7')).toMatchObject({
      status: 404,
      body: { error_code: 40402, message: 'Version not found' },
    });
    expect(await call('GET', '/schemas/ids/99')).toMatchObject({
      status: 404,
      body: { error_code: 40403, message: 'Schema not found' },
    });
    expect(await call('GET', '/subjects/s-a/versions/x')).toMatchObject({
      status: 422,
      body: { error_code: 42202 },
    });
    expect((await call('GET', '/nowhere')).status).toBe(404);
  });

  it('refuses a schema that is no JSON Schema with 422 and a message', async () => {
    const invalid = await post('s-a', { type: 'nonsense' });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({ error_code: 42201 });
    expect((invalid.body as { message: string }).message).toMatch(/^Invalid schema: .*type/);
    const notJson = await post('s-a', '{not json');
    expect(notJson).toMatchObject({ status: 422, body: { error_code: 42201 } });
    expect((notJson.body as { message: string }).message).toMatch(/not JSON/);
    // No schemaType means AVRO, as in Confluent: not stored here.
    const avro = await post('s-a', personSchema, null);
    expect(avro).toMatchObject({ status: 422, body: { error_code: 42201 } });
    expect((avro.body as { message: string }).message).toMatch(/AVRO/);
    // Nothing was registered by the refusals.
    expect((await call('GET', '/subjects')).body).toEqual([]);
  });
});

describe('schema registry client', () => {
  it('registers a subject and schema once per process, concurrent calls sharing one request', async () => {
    const { client, requests } = countingClient();
    const ids = await Promise.all([
      client.register('s-a', personSchema),
      client.register('s-a', personSchema),
      client.register('s-a', personSchema),
    ]);
    expect(ids).toEqual([1, 1, 1]);
    expect(await client.register('s-a', personSchema)).toBe(1);
    expect(requests).toEqual(['POST /subjects/s-a/versions']);
    expect(await client.register('s-b', { type: 'string' })).toBe(2);
    expect(requests).toHaveLength(2);
  });

  it('fetches a schema by id once, and compiles its validator once', async () => {
    const { client, requests } = countingClient();
    const id = await client.register('s-a', personSchema);
    expect(await client.schemaById(id)).toEqual(personSchema);
    await client.schemaById(id);
    const validate = await client.validatorById(id);
    expect(await client.validatorById(id)).toBe(validate);
    expect(requests.filter((r) => r.startsWith('GET'))).toEqual([`GET /schemas/ids/${id}`]);
    expect(validate({ name: 'Ada', email: 'ada@example.com' })).toBe(true);
    expect(validate({ name: 'Ada', email: 'not an email' })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/email' });
    expect(validate({ email: 'ada@example.com' })).toBe(false);
  });

  it('reports the HTTP status and the registry message, and caches no failure', async () => {
    const { client, requests } = countingClient();
    const error = await client.schemaById(5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect(error).toMatchObject({ status: 404, errorCode: 40403, retriable: false });
    expect((error as Error).message).toBe(
      `schema registry ${registry.url} refused GET /schemas/ids/5: HTTP 404 (error 40403): Schema not found`,
    );
    await expect(client.register('s-a', { type: 'nonsense' })).rejects.toThrow(
      /HTTP 422 \(error 42201\): Invalid schema/,
    );
    await client.schemaById(5).catch(() => undefined);
    expect(requests.filter((r) => r === 'GET /schemas/ids/5')).toHaveLength(2);
  });

  it('says when the registry is unreachable, as retriable', async () => {
    const client = createSchemaRegistry({ url: `${registry.url}/` });
    await registry.stop();
    const error = await client.register('s-a', personSchema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryError);
    expect(error).toMatchObject({ retriable: true });
    expect((error as Error).message).toMatch(
      new RegExp(
        `^schema registry ${registry.url} is unreachable \\(POST /subjects/s-a/versions\\): ECONNREFUSED`,
      ),
    );
  });

  it('refuses a URL that is no http(s) URL', () => {
    expect(() => createSchemaRegistry({ url: 'localhost:8081' })).toThrow(
      /schema registry URL "localhost:8081" must be http:\/\/ or https:\/\//,
    );
    expect(() => createSchemaRegistry({ url: 'not a url' })).toThrow(/is not a URL/);
  });

  it('works under a base path (Apicurio serves the API at /apis/ccompat/v7)', async () => {
    const paths: string[] = [];
    const client = createSchemaRegistry({
      url: 'http://registry.test/apis/ccompat/v7/',
      fetch: async (input) => {
        paths.push(String(input));
        return new Response('{"id":42}', { status: 200 });
      },
    });
    expect(await client.register('a b', personSchema)).toBe(42);
    expect(paths).toEqual(['http://registry.test/apis/ccompat/v7/subjects/a%20b/versions']);
  });
});

describe('schema ids of the producer', () => {
  it("registers the catalog's schema under its subject once, then answers without a promise", async () => {
    const { client, requests } = countingClient();
    const idOf = schemaIds(client);
    const first = idOf('user.registered', '1.0');
    expect(first).toBeInstanceOf(Promise);
    const id = await first;
    expect(idOf('user.registered', '1.0')).toBe(id);
    expect(requests).toEqual([
      `POST /subjects/${encodeURIComponent(subjectOf('user.registered', '1.0'))}/versions`,
    ]);
    const stored = await call('GET', `/subjects/${subjectOf('user.registered', '1.0')}/versions/1`);
    expect(JSON.parse((stored.body as { schema: string }).schema)).toEqual(
      jsonSchemaOf('user.registered', '1.0'),
    );
    await expect(idOf('no.such', '1.0')).rejects.toThrow(/unknown event type "no.such"/);
  });

  it('keeps call order while a registration is in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const real = createSchemaRegistry({ url: registry.url });
    const slow: SchemaRegistry = {
      ...real,
      register: async (subject, schema) => {
        if (subject.includes('user.logged_out')) await gate;
        return real.register(subject, schema);
      },
    };
    const idOf = schemaIds(slow);
    await idOf('user.registered', '1.0');
    const order: string[] = [];
    const a = Promise.resolve(idOf('user.logged_out', '1.0')).then(() => order.push('logged_out'));
    const b = Promise.resolve(idOf('user.registered', '1.0')).then(() => order.push('registered'));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    release();
    await Promise.all([a, b]);
    expect(order).toEqual(['logged_out', 'registered']);
  });
});

describe('events the catalog does not know', () => {
  const envelope = (version: string, payload: Record<string, unknown>, source = 'api-gateway') =>
    Buffer.from(
      JSON.stringify({
        eventId: randomUUID(),
        eventType: 'user.registered',
        timestamp: new Date().toISOString(),
        version,
        source,
        payload,
      }),
    );

  it('qualifies only an unknown version or type, with a valid envelope, topic and source', () => {
    const payload = { userId: 'u-1', email: 'ada@example.com', registrationMethod: 'authentik' };
    expect(unknownToCatalog(envelope('9.0', payload), 'user-events')).toMatchObject({
      version: '9.0',
    });
    expect(unknownToCatalog(envelope('1.0', payload), 'user-events')).toBeUndefined();
    expect(unknownToCatalog(envelope('9.0', payload), 'interview-events')).toBeUndefined();
    expect(
      unknownToCatalog(envelope('9.0', payload, 'audit-service'), 'user-events'),
    ).toBeUndefined();
    expect(unknownToCatalog(Buffer.from('{'), 'user-events')).toBeUndefined();
    expect(parseSchemaId('12')).toBe(12);
    expect(parseSchemaId('x')).toBeUndefined();
    expect(parseSchemaId(undefined)).toBeUndefined();
  });

  it('validates the payload with the registry schema, naming the failing field', async () => {
    const client = createSchemaRegistry({ url: registry.url });
    const id = await client.register('user-events-user.registered-9.0', personSchema);
    const good = unknownToCatalog(envelope('9.0', { name: 'Ada' }), 'user-events');
    const bad = unknownToCatalog(envelope('9.0', { name: 'Ada', email: 'nope' }), 'user-events');
    expect(await validateByRegistry(good!, id, client)).toMatchObject({
      ok: true,
      event: { validatedBy: 'registry', schemaId: id, payload: { name: 'Ada' } },
    });
    const result = await validateByRegistry(bad!, id, client);
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          path: 'payload.email',
          message: `must match format "email" (registry schema ${id} of user.registered 9.0)`,
        },
      ],
    });
    const missing = unknownToCatalog(envelope('9.0', {}), 'user-events');
    expect(await validateByRegistry(missing!, id, client)).toMatchObject({
      ok: false,
      issues: [{ path: 'payload.name', message: expect.stringMatching(/^is required/) }],
    });
  });
});

describe('SCHEMA_REGISTRY_URL', () => {
  it('is refused at start unless it is an http(s) URL, and absent when unset', () => {
    expect(() => loadConfig({ SCHEMA_REGISTRY_URL: 'localhost:8081' })).toThrow(
      /SCHEMA_REGISTRY_URL: must be the http\(s\) URL of a schema registry/,
    );
    expect(() => loadConfig({ SCHEMA_REGISTRY_URL: 'ftp://registry' })).toThrow(
      /SCHEMA_REGISTRY_URL/,
    );
    const url = 'http://127.0.0.1:8080/apis/ccompat/v7';
    expect(loadConfig({ SCHEMA_REGISTRY_URL: url }).kafka.schemaRegistryUrl).toBe(url);
    expect(loadConfig({}).kafka).not.toHaveProperty('schemaRegistryUrl');
  });
});
