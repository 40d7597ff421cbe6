package listing

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestReadSlots(t *testing.T) {
	lister := func(slots, perTenant int) *Lister {
		return &Lister{opts: Options{QueueTimeout: 2 * time.Second}, reads: newReadSlots(slots, perTenant)}
	}
	t.Run("a waiting read is served before a later one", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := lister(1, 1)
			held := mustAdmit(t, l, "tenant-a")
			var mu sync.Mutex
			var order []string
			served := func(name string, release func()) {
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				release()
			}
			go func() {
				release, err := l.admit(t.Context(), "tenant-b")
				if err != nil {
					t.Error(err)
					return
				}
				served("waiting", release)
			}()
			synctest.Wait() // the waiting read is queued
			held()
			served("later", mustAdmit(t, l, "tenant-c")) // comes after the slot was given back
			synctest.Wait()
			if want := []string{"waiting", "later"}; !slices.Equal(order, want) {
				t.Errorf("served %v, want %v", order, want)
			}
		})
	})
	t.Run("a tenant at its share does not hold up another", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := lister(2, 1)
			held := mustAdmit(t, l, "tenant-a")
			defer held()
			done := make(chan struct{})
			go func() { // tenant-a's second read waits for tenant-a's share, until the timeout
				defer close(done)
				if _, err := l.admit(t.Context(), "tenant-a"); !errors.Is(err, ErrNoReadSlot) {
					t.Errorf("tenant-a's second read: %v, want ErrNoReadSlot", err)
				}
			}()
			synctest.Wait()
			mustAdmit(t, l, "tenant-b")()
			<-done
		})
	})
	t.Run("no slot within the queue timeout is ErrNoReadSlot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			l := lister(1, 1)
			held := mustAdmit(t, l, "tenant-a")
			defer held()
			start := time.Now()
			if _, err := l.admit(t.Context(), "tenant-b"); !errors.Is(err, ErrNoReadSlot) {
				t.Fatalf("got %v, want ErrNoReadSlot", err)
			}
			if waited := time.Since(start); waited != 2*time.Second {
				t.Errorf("waited %v, want the queue timeout, 2s", waited)
			}
			if len(l.reads.tenants) != 1 {
				t.Errorf("tenants kept: %v, want tenant-a's only", l.reads.tenants)
			}
		})
	})
}

func mustAdmit(t *testing.T, l *Lister, tenant string) (release func()) {
	t.Helper()
	release, err := l.admit(t.Context(), tenant)
	if err != nil {
		t.Fatalf("%s: %v", tenant, err)
	}
	return release
}
