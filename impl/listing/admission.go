package listing

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// budget bounds what is taken of a resource, in total and by each tenant, so that one tenant
// cannot take it all: the read slots, the spool's disk.
type budget struct {
	mu               sync.Mutex
	limit, perTenant int64
	used             int64
	tenants          map[string]int64
	freed            chan struct{} // closed, and replaced, when something is given back to waiters
	waiting          bool
}

func newBudget(limit, perTenant int64) *budget {
	return &budget{limit: limit, perTenant: min(perTenant, limit), tenants: map[string]int64{}, freed: make(chan struct{})}
}

// take takes n for tenant if both bounds allow; else it returns a channel closed at the next give.
func (b *budget) take(tenant string, n int64) (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit || b.tenants[tenant]+n > b.perTenant {
		b.waiting = true
		return false, b.freed
	}
	b.used += n
	b.tenants[tenant] += n
	return true, nil
}

func (b *budget) give(tenant string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.tenants[tenant] -= n; b.tenants[tenant] <= 0 {
		delete(b.tenants, tenant)
	}
	if b.waiting {
		close(b.freed)
		b.freed, b.waiting = make(chan struct{}), false
	}
}

// admit waits, at most the queue timeout, for one of the read slots, which a read holds while
// the database produces its list, never while a client receives it.
func (l *Lister) admit(ctx context.Context, tenant string) (release func(), err error) {
	var timeout <-chan time.Time // started only when a read has to wait
	for {
		ok, freed := l.reads.take(tenant, 1)
		if ok {
			return func() { l.reads.give(tenant, 1) }, nil
		}
		if timeout == nil {
			timer := time.NewTimer(l.opts.QueueTimeout)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a read slot: %w", ctx.Err())
		case <-timeout:
			return nil, ErrNoReadSlot
		}
	}
}
