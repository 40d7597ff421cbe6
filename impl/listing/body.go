package listing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// body is a list body, built as it is encoded: in memory up to the window while the lister's
// memory budget allows, else in an unlinked 0600 file in the spool directory, within the spool
// budget. Memory comes in chunks recycled from one body to the next: a body never grows by
// copying. A cached body is one chunk of its exact size, and holds no budget.
type body struct {
	l         *Lister // nil for a cached body
	tenant    string
	mem       [][]byte // full chunks, then the one being filled
	memHeld   int64    // of the memory budget
	file      *os.File
	out       *bufio.Writer
	diskHeld  int64 // of the spool budget
	size      int64
	customers int
	marks     []mark
}

// mark says that the first offset bytes of a body hold its first customers customers whole: an
// answer cut short is logged with the customers the client received.
type mark struct {
	offset    int64
	customers int
}

// markEvery is how many bytes of the list pass between two marks; with gzip each mark flushes
// the compressor, so that what comes before it can be decoded.
const markEvery = 64 << 10

// customersWithin is how many customers the first sent bytes of the body hold whole.
func (b *body) customersWithin(sent int64) int {
	if sent >= b.size {
		return b.customers
	}
	i := sort.Search(len(b.marks), func(i int) bool { return b.marks[i].offset > sent })
	if i == 0 {
		return 0
	}
	return b.marks[i-1].customers
}

// joined returns a copy of a body held in memory, as one chunk of its exact size.
func (b *body) joined() *body {
	return &body{mem: [][]byte{slices.Concat(b.mem...)}, size: b.size, customers: b.customers, marks: b.marks}
}

// send writes b to w, at most chunkSize bytes under each write deadline of stall: a client that
// takes nothing for that long is dropped. It returns how many bytes the client was sent.
func send(w http.ResponseWriter, b *body, stall time.Duration) (int64, error) {
	rc := http.NewResponseController(w)
	var sent int64
	write := func(p []byte) error {
		for len(p) > 0 {
			if err := rc.SetWriteDeadline(time.Now().Add(stall)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
			n, err := w.Write(p[:min(len(p), chunkSize)])
			sent += int64(n)
			if err != nil {
				return err
			}
			p = p[n:]
		}
		return nil
	}
	for _, chunk := range b.mem {
		if err := write(chunk); err != nil {
			return sent, err
		}
	}
	if b.file != nil {
		buf := chunks.Get().(*[chunkSize]byte)
		defer chunks.Put(buf)
		r := io.NewSectionReader(b.file, 0, b.size)
		for {
			n, err := r.Read(buf[:])
			if werr := write(buf[:n]); werr != nil {
				return sent, werr
			}
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return sent, fmt.Errorf("read the spooled list: %w", err)
			}
		}
	}
	// The last bytes wait in net/http's buffer: they leave under the deadline too.
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return sent, err
	}
	return sent, nil
}

// chunkSize is the size of a body's chunks in memory, the unit of the memory budget, and the
// most bytes written to a client under one deadline.
const chunkSize = 64 << 10

// spoolStep is the unit in which the spool budget is taken.
const spoolStep = 1 << 20

var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

func (b *body) Write(p []byte) (int, error) {
	if b.file == nil {
		if need := b.size + int64(len(p)); need <= int64(b.l.opts.Window) && b.holdMemory(need) {
			b.append(p)
			return len(p), nil
		}
		if err := b.spill(); err != nil {
			return 0, err
		}
	}
	if need := b.size + int64(len(p)); need > b.diskHeld {
		step := max(need-b.diskHeld, spoolStep)
		if !b.l.spool.take(b.tenant, step) {
			return 0, ErrSpoolFull
		}
		b.diskHeld += step
	}
	n, err := b.out.Write(p)
	b.size += int64(n)
	return n, err
}

// append copies p into the chunks, taking new ones as they fill.
func (b *body) append(p []byte) {
	b.size += int64(len(p))
	for len(p) > 0 {
		last := len(b.mem) - 1
		if last < 0 || len(b.mem[last]) == chunkSize {
			b.mem = append(b.mem, chunks.Get().(*[chunkSize]byte)[:0])
			last++
		}
		n := min(len(p), chunkSize-len(b.mem[last]))
		b.mem[last] = append(b.mem[last], p[:n]...)
		p = p[n:]
	}
}

// holdMemory makes sure the body holds at least need bytes of the memory budget.
func (b *body) holdMemory(need int64) bool {
	if need <= b.memHeld {
		return true
	}
	step := (need - b.memHeld + chunkSize - 1) / chunkSize * chunkSize
	if !b.l.memory.TryAcquire(step) {
		return false
	}
	b.memHeld += step
	return true
}

// spill moves the body to a new spool file and goes on there.
func (b *body) spill() error {
	f, err := os.CreateTemp(b.l.opts.SpoolDir, "customer-api-list-*")
	if err != nil {
		return fmt.Errorf("spool a large list: %w", err)
	}
	// Unlinked at once: nothing else can open it, and its space returns however the process ends.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("spool a large list: %w", err)
	}
	held := b.mem
	b.file, b.out, b.mem, b.size = f, bufio.NewWriterSize(f, chunkSize), nil, 0
	defer b.freeMemory(held)
	for _, c := range held {
		if _, err := b.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// freeMemory gives back the chunks and the memory budget held.
func (b *body) freeMemory(mem [][]byte) {
	for _, c := range mem {
		chunks.Put((*[chunkSize]byte)(c[:chunkSize]))
	}
	b.l.memory.Release(b.memHeld)
	b.memHeld = 0
}

// flush writes out what waits for the spool file.
func (b *body) flush() error {
	if b.file != nil {
		if err := b.out.Flush(); err != nil {
			return fmt.Errorf("spool a large list: %w", err)
		}
	}
	return nil
}

// release gives back everything the body holds.
func (b *body) release() {
	if b.l == nil {
		return
	}
	b.freeMemory(b.mem)
	if b.file != nil {
		b.file.Close()
		b.l.spool.give(b.tenant, b.diskHeld)
	}
	*b = body{}
}
