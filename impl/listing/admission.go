package listing

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/semaphore"
)

// budget bounds what is taken of the spool's disk, in total and by each tenant, so that one
// tenant cannot take it all. It never waits: what does not fit is refused.
type budget struct {
	mu               sync.Mutex
	limit, perTenant int64
	used             int64
	tenants          map[string]int64
}

func newBudget(limit, perTenant int64) *budget {
	return &budget{limit: limit, perTenant: min(perTenant, limit), tenants: map[string]int64{}}
}

// take takes n for tenant if both bounds allow.
func (b *budget) take(tenant string, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit || b.tenants[tenant]+n > b.perTenant {
		return false
	}
	b.used += n
	b.tenants[tenant] += n
	return true
}

func (b *budget) give(tenant string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.tenants[tenant] -= n; b.tenants[tenant] <= 0 {
		delete(b.tenants, tenant)
	}
}

// readSlots bound the reads from the store that run at once, in total and for each tenant.
// Waiting reads are served in the order they came (x/sync's semaphore is FIFO): a read that
// waits is not overtaken by later ones, however fast a tenant's reads keep coming.
type readSlots struct {
	all       *semaphore.Weighted
	perTenant int64
	mu        sync.Mutex
	tenants   map[string]*tenantSlots
}

// tenantSlots are one tenant's share of the slots, kept while any of its reads wants one.
type tenantSlots struct {
	sem   *semaphore.Weighted
	users int
}

func newReadSlots(limit, perTenant int) *readSlots {
	return &readSlots{all: semaphore.NewWeighted(int64(limit)), perTenant: int64(min(perTenant, limit)),
		tenants: map[string]*tenantSlots{}}
}

// admit waits, at most the queue timeout, for the tenant's turn and then for one of the read
// slots, which a read holds while the database produces its list, never while a client
// receives it.
func (l *Lister) admit(ctx context.Context, tenant string) (release func(), err error) {
	s := l.reads
	t := s.join(tenant)
	wait, cancel := context.WithTimeout(ctx, l.opts.QueueTimeout)
	defer cancel()
	if err = t.sem.Acquire(wait, 1); err == nil {
		if err = s.all.Acquire(wait, 1); err != nil {
			t.sem.Release(1)
		}
	}
	if err != nil {
		s.leave(tenant, t)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for a read slot: %w", ctx.Err())
		}
		return nil, ErrNoReadSlot
	}
	return func() {
		s.all.Release(1)
		t.sem.Release(1)
		s.leave(tenant, t)
	}, nil
}

func (s *readSlots) join(tenant string) *tenantSlots {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenants[tenant]
	if t == nil {
		t = &tenantSlots{sem: semaphore.NewWeighted(s.perTenant)}
		s.tenants[tenant] = t
	}
	t.users++
	return t
}

func (s *readSlots) leave(tenant string, t *tenantSlots) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(s.tenants, tenant)
	}
}
