package listing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// admission lets a bounded number of reads from the store run at once, and at most perTenant of
// them for one tenant, so that one tenant cannot hold every slot. A read waits for its tenant's
// turn, then for a slot, at most the queue timeout in all. A slot is held while the database
// produces the list, never while a client receives it.
type admission struct {
	slots     chan struct{}
	perTenant int
	timeout   time.Duration

	mu      sync.Mutex
	tenants map[string]*tenantSlots
}

// tenantSlots are one tenant's share of the slots, kept while any of its reads wants one.
type tenantSlots struct {
	slots chan struct{}
	users int
}

// errBusy is returned when a read found no slot within the queue timeout.
var errBusy = errors.New("no read slot within the queue timeout")

func newAdmission(slots, perTenant int, timeout time.Duration) *admission {
	return &admission{
		slots:     make(chan struct{}, slots),
		perTenant: min(perTenant, slots),
		timeout:   timeout,
		tenants:   map[string]*tenantSlots{},
	}
}

// acquire waits for a slot for a read of tenant and returns the function that gives it back.
func (a *admission) acquire(ctx context.Context, tenant string) (release func(), err error) {
	t := a.join(tenant)
	var timer *time.Timer
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
			return errBusy
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

func (a *admission) join(tenant string) *tenantSlots {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tenants[tenant]
	if t == nil {
		t = &tenantSlots{slots: make(chan struct{}, a.perTenant)}
		a.tenants[tenant] = t
	}
	t.users++
	return t
}

func (a *admission) leave(tenant string, t *tenantSlots) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(a.tenants, tenant)
	}
}
