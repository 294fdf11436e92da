import { LRUCache } from 'lru-cache';
import { countBound } from './cache';

describe('countBound', () => {
  it('keeps at most that many entries, evicting the least recently used', () => {
    const cache = new LRUCache<string, number>(countBound(3));
    cache.set('a', 1).set('b', 2).set('c', 3);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('d', 4);
    expect([...cache.keys()].sort()).toEqual(['a', 'c', 'd']);
    expect(cache.size).toBe(3);
  });
});
