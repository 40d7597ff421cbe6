package listing

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cacheKey names one encoded body: an organization of a tenant at one version, in one encoding.
// A new version is a new key, so a stale body is never found again and ages out.
type cacheKey struct {
	tenant, organization, version string
	gzip                          bool
}

// cachedBody is a complete, validated body.
type cachedBody struct {
	data      []byte
	customers int
	marks     []mark
}

// body is the cached body as one to send; the cache owns its bytes.
func (c cachedBody) body() *body {
	return &body{mem: [][]byte{c.data}, size: int64(len(c.data)), customers: c.customers, marks: c.marks, release: func() {}}
}

// bodyCache keeps encoded bodies of small organizations, bounded by the bytes they hold: the
// least recently used go first.
type bodyCache struct {
	mu      sync.Mutex
	bodies  *lru.Cache[cacheKey, cachedBody]
	bytes   int64
	limit   int64
	maxBody int
}

// newBodyCache returns a cache of at most limit bytes, or nil (cache nothing) for limit 0.
// A body larger than maxBody is never kept: one large organization would evict many small ones.
func newBodyCache(limit int64, maxBody int) *bodyCache {
	if limit <= 0 {
		return nil
	}
	c := &bodyCache{limit: limit, maxBody: maxBody}
	// The LRU's entry count is no bound here (bytes are): make it larger than bodies could be.
	c.bodies, _ = lru.NewWithEvict(1<<20, func(_ cacheKey, b cachedBody) { c.bytes -= int64(len(b.data)) })
	return c
}

func (c *bodyCache) get(k cacheKey) (cachedBody, bool) {
	if c == nil {
		return cachedBody{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bodies.Get(k)
}

// fits reports whether a body of size bytes may be cached.
func (c *bodyCache) fits(size int64) bool {
	return c != nil && size <= int64(c.maxBody) && size <= c.limit
}

// put keeps the body, whose bytes it takes (of their exact size: the cache counts the bytes it
// holds), and reports whether the cache holds the key now.
func (c *bodyCache) put(k cacheKey, b cachedBody) bool {
	if !c.fits(int64(len(b.data))) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bodies.Contains(k) {
		return true
	}
	c.bodies.Add(k, b)
	c.bytes += int64(len(b.data))
	for c.bytes > c.limit {
		c.bodies.RemoveOldest()
	}
	return c.bodies.Contains(k)
}

// clear drops every body.
func (c *bodyCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bodies.Purge()
}

// ErasureCheck is how often DropErased asks the store whether customers were erased.
const ErasureCheck = time.Second

// DropErased drops every cached body whenever count (the store's erasure count) has grown since
// it last looked, every ErasureCheck until ctx ends: erasure happens in another process, and a
// cached body of the version before it must not keep the erased data in memory. Dropping the
// whole cache is cheap next to how rarely customers are erased; the bodies still wanted are read
// again. A failed look is tried again at the next tick.
func (l *Lister) DropErased(ctx context.Context, count func(context.Context) (int64, error)) {
	seen, err := count(ctx)
	known := err == nil
	tick := time.NewTicker(ErasureCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := count(ctx)
		if err != nil {
			continue
		}
		if !known || n != seen {
			l.cache.clear()
			l.metrics.ListBodies.WithLabelValues("dropped_erased").Inc()
		}
		seen, known = n, true
	}
}
