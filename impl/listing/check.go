package listing

import (
	"context"
	"runtime"

	"github.com/cyrexa/customer-api/impl/contract"
)

// Bounds of the documents one list holds while they are being validated: at most so many per
// validating goroutine, and at most so many bytes in all (a larger single document is still let
// through, alone).
const (
	pendingPerWorker = 8
	pendingBytes     = 4 << 20
)

// checkedEncoder writes the list's entries in the store's order, each checked by the response
// validator before its bytes are kept. A document the validator remembers is written at once,
// without a copy. The others are copied (the store reuses its buffer) and checked on every core,
// GOMAXPROCS goroutines started at the first such document; the entries behind one being checked
// wait in order, a bounded number of them. With one core there is nothing to gain: each document
// is checked in turn, without a copy. An error CheckEntry returns stops the list.
type checkedEncoder struct {
	ctx     context.Context
	checker contract.ListChecker // nil: nothing is checked
	enc     *encoder

	queue   []*pendingEntry // entries not yet written, in order
	head    int             // queue[head:] is pending
	bytes   int             // bytes of the documents in queue[head:]
	work    chan *pendingEntry
	workers int
	limit   int
	serial  bool // GOMAXPROCS is 1
}

// pendingEntry is one document waiting for its check and its turn.
type pendingEntry struct {
	index    int
	document []byte
	err      error
	done     chan struct{} // closed when checked; nil when it needs no check
}

func newCheckedEncoder(ctx context.Context, checker contract.ListChecker, enc *encoder) *checkedEncoder {
	return &checkedEncoder{ctx: ctx, checker: checker, enc: enc, serial: runtime.GOMAXPROCS(0) == 1}
}

// entry adds one document, valid only until entry returns.
func (c *checkedEncoder) entry(document []byte) error {
	pending := len(c.queue) - c.head
	if c.checker == nil || (pending == 0 && c.checker.Passed(document)) {
		return c.enc.entry(document)
	}
	if c.serial {
		if err := c.checker.CheckEntry(c.ctx, c.enc.customers, document); err != nil {
			return err
		}
		return c.enc.entry(document)
	}
	p := &pendingEntry{index: c.enc.customers + pending, document: append([]byte(nil), document...)}
	if pending == 0 || !c.checker.Passed(document) {
		p.done = make(chan struct{})
		c.start()
		c.work <- p // never blocks: the channel holds as many as the queue may
	}
	c.queue = append(c.queue, p)
	c.bytes += len(p.document)
	// Write what is ready; wait while the queue is full.
	for len(c.queue) > c.head {
		full := len(c.queue)-c.head >= c.limit || c.bytes > pendingBytes
		if !full && !c.headReady() {
			return nil
		}
		if err := c.writeHead(); err != nil {
			return err
		}
	}
	return nil
}

// end writes every entry still pending.
func (c *checkedEncoder) end() error {
	for len(c.queue) > c.head {
		if err := c.writeHead(); err != nil {
			return err
		}
	}
	return nil
}

// close stops the goroutines; it is safe to call more than once, and after a failure.
func (c *checkedEncoder) close() {
	if c.work != nil {
		close(c.work)
		c.work = nil
	}
}

func (c *checkedEncoder) start() {
	if c.work != nil {
		return
	}
	c.workers = runtime.GOMAXPROCS(0)
	c.limit = pendingPerWorker * c.workers
	c.work = make(chan *pendingEntry, c.limit+1)
	for range c.workers {
		go func(work <-chan *pendingEntry) {
			for p := range work {
				if c.ctx.Err() == nil {
					p.err = c.checker.CheckEntry(c.ctx, p.index, p.document)
				} else {
					p.err = c.ctx.Err()
				}
				close(p.done)
			}
		}(c.work)
	}
}

func (c *checkedEncoder) headReady() bool {
	p := c.queue[c.head]
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// writeHead writes the first pending entry once it is checked.
func (c *checkedEncoder) writeHead() error {
	p := c.queue[c.head]
	if p.done != nil {
		<-p.done
		if p.err != nil {
			return p.err
		}
	}
	c.queue[c.head] = nil
	c.head++
	c.bytes -= len(p.document)
	if c.head == len(c.queue) {
		c.queue, c.head = c.queue[:0], 0
	}
	return c.enc.entry(p.document)
}
