package listing

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// bodyCache keeps encoded bodies of small organizations, bounded by their bytes: the least
// recently used go first. A new version is a new key, so a stale body is never found again; a
// body over maxBody is never kept, as it would evict many small ones. The LRU locks itself; mu
// keeps bytes in step with it where bodies are added and evicted.
type bodyCache struct {
	mu      sync.Mutex
	bodies  *lru.Cache[Request, *body]
	bytes   int64
	limit   int64
	maxBody int
}

// newBodyCache returns a cache of at most limit bytes, or nil (cache nothing) for limit <= 0.
func newBodyCache(limit int64, maxBody int) *bodyCache {
	if limit <= 0 {
		return nil
	}
	c := &bodyCache{limit: limit, maxBody: maxBody}
	// Bytes bound the cache, not entries: the LRU's count is larger than bodies could be.
	c.bodies, _ = lru.NewWithEvict(1<<20, func(_ Request, b *body) { c.bytes -= b.size })
	return c
}

// get returns the cached body of k, or nil; the cache owns it.
func (c *bodyCache) get(k Request) *body {
	if c == nil {
		return nil
	}
	b, _ := c.bodies.Get(k)
	return b
}

// fits reports whether a body of size bytes may be cached.
func (c *bodyCache) fits(size int64) bool {
	return c != nil && size <= int64(c.maxBody) && size <= c.limit
}

// put keeps b, one chunk of its exact size, and reports whether the cache holds k now.
func (c *bodyCache) put(k Request, b *body) bool {
	if !c.fits(b.size) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bodies.Contains(k) {
		return true
	}
	c.bodies.Add(k, b)
	for c.bytes += b.size; c.bytes > c.limit; {
		c.bodies.RemoveOldest()
	}
	return c.bodies.Contains(k)
}

func (c *bodyCache) clear() {
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.bodies.Purge()
	}
}

// erasureCheck is how often DropErased asks the store whether customers were erased.
const erasureCheck = time.Second

// DropErased empties the body cache whenever count (the store's erasure count) has changed, until
// ctx ends: erasure runs in another process, and no cached body may keep erased data in memory.
func (l *Lister) DropErased(ctx context.Context, count func(context.Context) (int64, error)) {
	seen, err := count(ctx)
	if err != nil {
		seen = -1 // unknown: the first count that succeeds drops the cache
	}
	tick := time.NewTicker(erasureCheck)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			if n, err := count(ctx); err == nil && n != seen { // a failed look is tried again at the next tick
				l.cache.clear()
				l.outcomes.WithLabelValues("dropped_erased").Inc()
				seen = n
			}
		}
	}
}
