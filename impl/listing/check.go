package listing

import (
	"context"
	"runtime"
)

// Bounds of the documents of one list waiting for their check: so many per checking goroutine,
// and so many bytes in all (a larger single document still passes, alone).
const (
	pendingPerWorker = 8
	pendingBytes     = 4 << 20
)

// checkedEncoder writes the list's entries in the store's order, each checked before its bytes
// are kept. A remembered document is written at once, without a copy. The others are copied
// (the store reuses its buffer) and checked on every core, a bounded number ahead of the one
// being written; with one core there is nothing to gain, and each is checked in turn.
type checkedEncoder struct {
	ctx     context.Context
	checker Checker
	enc     *encoder
	serial  bool // GOMAXPROCS is 1

	queue []*pendingEntry // entries not yet written, in order; queue[head:] is pending
	head  int
	bytes int // of the documents in queue[head:]
	work  chan *pendingEntry
	limit int
}

// pendingEntry is one document waiting for its check and its turn.
type pendingEntry struct {
	index    int
	document []byte
	err      error
	done     chan struct{} // closed when checked; nil when it needs no check
}

// entry adds one document, valid only until entry returns.
func (c *checkedEncoder) entry(document []byte) error {
	pending := len(c.queue) - c.head
	if pending == 0 && c.checker.Passed(document) {
		return c.enc.entry(document)
	}
	if c.serial {
		if err := c.checker.CheckEntry(c.ctx, c.enc.out.customers, document); err != nil {
			return err
		}
		return c.enc.entry(document)
	}
	p := &pendingEntry{index: c.enc.out.customers + pending, document: append([]byte(nil), document...)}
	if pending == 0 || !c.checker.Passed(document) {
		p.done = make(chan struct{})
		c.start()
		c.work <- p // never blocks: the channel holds as many as the queue may
	}
	c.queue = append(c.queue, p)
	c.bytes += len(p.document)
	return c.write(false)
}

// end writes every entry still pending.
func (c *checkedEncoder) end() error { return c.write(true) }

// write writes the pending entries in order, each once it is checked: all of them, or those
// ready, and more while the queue is over its bounds.
func (c *checkedEncoder) write(all bool) error {
	for len(c.queue) > c.head {
		p := c.queue[c.head]
		full := len(c.queue)-c.head >= c.limit || c.bytes > pendingBytes
		if !all && !full && !ready(p) {
			return nil
		}
		if p.done != nil {
			<-p.done
		}
		if p.err != nil {
			return p.err
		}
		c.queue[c.head] = nil
		c.head++
		c.bytes -= len(p.document)
		if c.head == len(c.queue) {
			c.queue, c.head = c.queue[:0], 0
		}
		if err := c.enc.entry(p.document); err != nil {
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

// start starts GOMAXPROCS checking goroutines, once.
func (c *checkedEncoder) start() {
	if c.work != nil {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	c.limit = pendingPerWorker * workers
	c.work = make(chan *pendingEntry, c.limit+1)
	for range workers {
		go func(work <-chan *pendingEntry) {
			for p := range work {
				if p.err = c.ctx.Err(); p.err == nil {
					p.err = c.checker.CheckEntry(c.ctx, p.index, p.document)
				}
				close(p.done)
			}
		}(c.work)
	}
}

// ready reports whether p needs no check or was checked.
func ready(p *pendingEntry) bool {
	select {
	case <-p.done: // a nil channel (no check) is never ready here
		return true
	default:
		return p.done == nil
	}
}
