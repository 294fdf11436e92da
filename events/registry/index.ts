/**
 * Schema registry support (Confluent's REST API): the client (client.ts), the embedded
 * in-memory registry for development and tests (embedded.ts), the producer's schema ids
 * (schema-ids.ts) and the consumer's validation of versions the catalog lacks
 * (unknown-version.ts). `KafkaService`'s `schemaRegistry` option ties them in.
 */
import { createSchemaRegistry, type SchemaRegistry } from './client';

export {
  createSchemaRegistry,
  SchemaRegistryError,
  type JsonSchema,
  type SchemaRegistry,
  type SchemaRegistryOptions,
} from './client';
export { startEmbeddedRegistry, type EmbeddedRegistry } from './embedded';
export type { RegistryValidatedEvent } from './unknown-version';

/** A client of the registry at `url` (`SCHEMA_REGISTRY_URL`), or none when it is unset. */
export function schemaRegistryFromUrl(url: string | undefined): SchemaRegistry | undefined {
  return url === undefined ? undefined : createSchemaRegistry({ url });
}
