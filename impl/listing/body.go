package listing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

// body is a complete, validated list body, ready to send: in memory (in chunks), or in an
// unlinked temporary file (a spool) when it is larger than the window.
type body struct {
	mem       [][]byte
	file      *os.File
	size      int64
	customers int
	// marks say, every markEvery bytes of the encoded list, how many customers the body holds
	// whole up to there: an answer cut short is logged with the customers the client received.
	marks []mark
	// release gives back what the body holds (memory or spool budget, the file).
	release func()
}

// mark says that the first offset bytes of a body hold its first customers customers whole.
type mark struct {
	offset    int64
	customers int
}

// markEvery is how many bytes of the list pass between two marks. For gzip, each mark flushes the
// compressor, so that everything before it can be decoded from the bytes before it.
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

// sendChunk is the most bytes written to the client under one write deadline.
const sendChunk = 64 << 10

var sendBuffers = sync.Pool{New: func() any { return new([sendChunk]byte) }}

// send writes b to w, each write of at most sendChunk bytes under a deadline of stall: a client
// that takes nothing for that long is dropped, and holds nothing of the store meanwhile. It
// returns how many bytes the client was sent.
func send(w http.ResponseWriter, b *body, stall time.Duration) (int64, error) {
	rc := http.NewResponseController(w)
	var sent int64
	write := func(p []byte) error {
		for len(p) > 0 {
			chunk := p[:min(len(p), sendChunk)]
			if err := rc.SetWriteDeadline(time.Now().Add(stall)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
			n, err := w.Write(chunk)
			sent += int64(n)
			if err != nil {
				return err
			}
			p = p[n:]
		}
		return nil
	}
	if b.file == nil {
		for _, chunk := range b.mem {
			if err := write(chunk); err != nil {
				return sent, err
			}
		}
	} else {
		buf := sendBuffers.Get().(*[sendChunk]byte)
		defer sendBuffers.Put(buf)
		r := io.NewSectionReader(b.file, 0, b.size)
		for {
			n, err := r.Read(buf[:])
			if n > 0 {
				if err := write(buf[:n]); err != nil {
					return sent, err
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
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

// builder collects an encoded body as it is produced: in memory up to the window, while the
// lister's memory budget allows, and past that in an unlinked 0600 file in the spool directory,
// within the spool budget. It is the io.Writer the list's encoder writes to. Memory comes in
// chunks of chunkSize bytes, recycled from one body to the next: a body never grows by copying.
type builder struct {
	l        *Lister
	tenant   string
	mem      [][]byte // full chunks, then the one being filled
	memHeld  int64    // of the memory budget
	file     *os.File
	out      *bufio.Writer
	diskHeld int64 // of the spool budget
	size     int64
}

// chunkSize is the size of the chunks of a body held in memory, and the unit in which the
// memory budget is taken.
const chunkSize = 64 << 10

var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// giveChunks returns the chunks of a body to the pool.
func giveChunks(mem [][]byte) {
	for _, c := range mem {
		chunks.Put((*[chunkSize]byte)(c[:chunkSize]))
	}
}

// errSpoolFull is returned when the spool budget (the tenant's share or the total) is spent.
var errSpoolFull = errors.New("the spool budget for large lists is spent")

func (b *builder) Write(p []byte) (int, error) {
	if b.file == nil {
		if need := b.size + int64(len(p)); need <= int64(b.l.window) && b.holdMemory(need) {
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
			return 0, errSpoolFull
		}
		b.diskHeld += step
	}
	n, err := b.out.Write(p)
	b.size += int64(n)
	return n, err
}

// append copies p into the chunks, taking new ones as they fill.
func (b *builder) append(p []byte) {
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

// spoolStep is the unit in which the spool budget is taken.
const spoolStep = 1 << 20

// holdMemory makes sure the builder holds at least need bytes of the memory budget, in whole
// chunks.
func (b *builder) holdMemory(need int64) bool {
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
func (b *builder) spill() error {
	f, err := os.CreateTemp(b.l.spoolDir, "customer-api-list-*")
	if err != nil {
		return fmt.Errorf("spool a large list: %w", err)
	}
	// Unlinked at once: nothing else can open it, and the disk space returns when it closes,
	// however the process ends.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return fmt.Errorf("spool a large list: %w", err)
	}
	b.file = f
	b.out = bufio.NewWriterSize(f, sendChunk)
	held := b.mem
	b.mem, b.size = nil, 0
	defer giveChunks(held)
	defer b.releaseMemory()
	for _, c := range held {
		if _, err := b.Write(c); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) releaseMemory() {
	if b.memHeld > 0 {
		b.l.memory.Release(b.memHeld)
		b.memHeld = 0
	}
}

// finish returns the body built, which now owns what the builder held.
func (b *builder) finish(customers int, marks []mark) (*body, error) {
	if b.file != nil {
		if err := b.out.Flush(); err != nil {
			b.discard()
			return nil, fmt.Errorf("spool a large list: %w", err)
		}
	}
	out := &body{mem: b.mem, file: b.file, size: b.size, customers: customers, marks: marks}
	mem, memHeld, diskHeld, file, l, tenant := b.mem, b.memHeld, b.diskHeld, b.file, b.l, b.tenant
	out.release = func() {
		giveChunks(mem)
		if memHeld > 0 {
			l.memory.Release(memHeld)
		}
		if file != nil {
			file.Close()
			l.spool.give(tenant, diskHeld)
		}
	}
	*b = builder{}
	return out, nil
}

// discard gives back everything the builder holds.
func (b *builder) discard() {
	giveChunks(b.mem)
	b.releaseMemory()
	if b.file != nil {
		b.file.Close()
		b.l.spool.give(b.tenant, b.diskHeld)
	}
	*b = builder{}
}

// joined returns a body held in memory as one slice of its exact size (a copy).
func (b *body) joined() []byte {
	out := make([]byte, 0, b.size)
	for _, c := range b.mem {
		out = append(out, c...)
	}
	return out
}

// spoolBudget bounds the disk that spooled lists take, in total and for each tenant (half the
// total), so that one tenant's slow clients cannot take it all.
type spoolBudget struct {
	mu        sync.Mutex
	limit     int64
	perTenant int64
	used      int64
	tenants   map[string]int64
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
