package listing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeChecker remembers the documents listed in known, fails the document fail (if any), and
// records how many checks ran at once and how many documents the encoder held.
type fakeChecker struct {
	known   map[string]bool
	fail    string
	enter   chan struct{} // when set, each check waits until another one runs beside it
	running atomic.Int32
	most    atomic.Int32
	checked sync.Map // document -> number of checks
}

func (f *fakeChecker) Passed(document []byte) bool { return f.known[string(document)] }

func (f *fakeChecker) CheckEntry(_ context.Context, index int, document []byte) error {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for m := f.most.Load(); n > m && !f.most.CompareAndSwap(m, n); m = f.most.Load() {
	}
	if f.enter != nil {
		select {
		case f.enter <- struct{}{}:
		case <-f.enter:
		case <-time.After(10 * time.Second):
			return errors.New("no other check ran beside this one")
		}
	}
	prev, _ := f.checked.LoadOrStore(string(document), new(atomic.Int32))
	prev.(*atomic.Int32).Add(1)
	if string(document) == f.fail {
		return fmt.Errorf("customer %d: %w", index, errFake)
	}
	return nil
}

var errFake = errors.New("breaks the contract")

// list runs documents through a checked encoder into a body and returns the body's JSON.
func list(t *testing.T, f *fakeChecker, documents []string) ([]byte, error) {
	t.Helper()
	l := New(nil, f, Options{}, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "list_bodies"}, []string{"outcome"}))
	out := &body{l: l, tenant: "t"}
	enc := newEncoder(out, false)
	c := &checkedEncoder{ctx: t.Context(), checker: f, enc: enc, serial: runtime.GOMAXPROCS(0) == 1}
	defer c.close()
	for _, d := range documents {
		if err := c.entry([]byte(d)); err != nil {
			out.release()
			return nil, err
		}
		if held := len(c.queue) - c.head; c.limit > 0 && held > c.limit {
			t.Fatalf("the encoder holds %d documents, more than its bound %d", held, c.limit)
		}
	}
	if err := c.end(); err != nil {
		out.release()
		return nil, err
	}
	if err := enc.end(); err != nil {
		t.Fatal(err)
	}
	if err := out.flush(); err != nil {
		t.Fatal(err)
	}
	defer out.release()
	return out.joined().mem[0], nil
}

func documents(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"id":"c-%04d"}`, i)
	}
	return out
}

func TestCheckedListsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	docs := documents(500)
	f := &fakeChecker{known: map[string]bool{}}
	for i := 0; i < len(docs); i += 3 { // every third document was validated before
		f.known[docs[i]] = true
	}
	got, err := list(t, f, docs)
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct{ Customer json.RawMessage }
	if err := json.Unmarshal(got, &entries); err != nil || len(entries) != len(docs) {
		t.Fatalf("body: %d entries, %v", len(entries), err)
	}
	for i, e := range entries {
		if string(e.Customer) != docs[i] {
			t.Fatalf("entry %d is %s, want %s", i, e.Customer, docs[i])
		}
	}
	for i, d := range docs {
		n, ok := f.checked.Load(d)
		switch {
		case f.known[d] && ok:
			t.Errorf("document %d was remembered, and checked again", i)
		case !f.known[d] && (!ok || n.(*atomic.Int32).Load() != 1):
			t.Errorf("document %d was not checked exactly once", i)
		}
	}
}

func TestCheckedListsUseEveryCore(t *testing.T) {
	t.Parallel()
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2")
	}
	// Each check waits for another to run beside it: a list checked on one goroutine fails.
	f := &fakeChecker{enter: make(chan struct{})}
	if _, err := list(t, f, documents(64)); err != nil {
		t.Fatal(err)
	}
	if most := f.most.Load(); most < 2 {
		t.Errorf("at most %d checks ran at once", most)
	}
}

func TestACheckedListStopsAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	docs := documents(300)
	f := &fakeChecker{fail: docs[137]}
	if _, err := list(t, f, docs); !errors.Is(err, errFake) || err.Error() != "customer 137: breaks the contract" {
		t.Errorf("list = %v, want the failure of customer 137", err)
	}
}
