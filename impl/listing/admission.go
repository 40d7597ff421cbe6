package listing

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// admission lets a bounded number of reads from the store run at once, at most perTenant of them
// for one tenant. A read waits for its tenant's turn, then for a slot, at most the timeout in
// all; it holds the slot while the database produces its list, never while a client receives it.
type admission struct {
	slots     chan struct{}
	perTenant int
	timeout   time.Duration
	mu        sync.Mutex
	tenants   map[string]*tenantSlots // kept while any of the tenant's reads wants a slot
}

type tenantSlots struct {
	slots chan struct{}
	users int
}

func newAdmission(slots, perTenant int, timeout time.Duration) *admission {
	return &admission{slots: make(chan struct{}, slots), perTenant: min(perTenant, slots), timeout: timeout, tenants: map[string]*tenantSlots{}}
}

// acquire waits for a slot for a read of tenant and returns the function that gives it back.
func (a *admission) acquire(ctx context.Context, tenant string) (release func(), err error) {
	a.mu.Lock()
	t := a.tenants[tenant]
	if t == nil {
		t = &tenantSlots{slots: make(chan struct{}, a.perTenant)}
		a.tenants[tenant] = t
	}
	t.users++
	a.mu.Unlock()
	var timer *time.Timer // started only when a read has to wait
	wait := func(slots chan struct{}) error {
		select {
		case slots <- struct{}{}:
			return nil
		default:
		}
		if timer == nil {
			timer = time.NewTimer(a.timeout)
		}
		select {
		case slots <- struct{}{}:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("wait for a read slot: %w", ctx.Err())
		case <-timer.C:
			return ErrNoReadSlot
		}
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	if err := wait(t.slots); err != nil {
		a.leave(tenant, t)
		return nil, err
	}
	if err := wait(a.slots); err != nil {
		<-t.slots
		a.leave(tenant, t)
		return nil, err
	}
	return func() {
		<-a.slots
		<-t.slots
		a.leave(tenant, t)
	}, nil
}

func (a *admission) leave(tenant string, t *tenantSlots) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(a.tenants, tenant)
	}
}

// spoolBudget bounds the disk spooled lists take, in total and for each tenant (half the total),
// so that one tenant's slow clients cannot take it all.
type spoolBudget struct {
	mu               sync.Mutex
	limit, perTenant int64
	used             int64
	tenants          map[string]int64
}

func newSpoolBudget(limit int64) *spoolBudget {
	return &spoolBudget{limit: limit, perTenant: max(limit/2, 1), tenants: map[string]int64{}}
}

func (s *spoolBudget) take(tenant string, n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used+n > s.limit || s.tenants[tenant]+n > s.perTenant {
		return false
	}
	s.used += n
	s.tenants[tenant] += n
	return true
}

func (s *spoolBudget) give(tenant string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used -= n
	if s.tenants[tenant] -= n; s.tenants[tenant] <= 0 {
		delete(s.tenants, tenant)
	}
}
