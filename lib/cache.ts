/**
 * Options for `lru-cache` caches that may hold many entries but usually hold few.
 *
 * lru-cache's `max` allocates its slots up front (about 16 bytes each, heap and typed arrays):
 * 50,000 remembered event ids per topic and 100,000 rate-limit keys cost the gateway ~8 MB of
 * RSS before the first entry. Bounding the count through `maxSize` instead (each entry of
 * size 1) keeps the same least-recently-used eviction at the same count, with storage that grows
 * as entries come.
 */
import type { LRUCache } from 'lru-cache';

/** At most `entries` entries, least recently used evicted first; nothing allocated ahead. */
export function countBound<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  entries: number,
): LRUCache.Options<K, V, unknown> {
  return { maxSize: entries, sizeCalculation: () => 1 };
}
