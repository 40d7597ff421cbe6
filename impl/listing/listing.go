// Package listing writes an organization's customer list, the read path's 200, so that neither
// its cost nor a slow client can take the service from others: bodies come from a cache, or from
// one store snapshot read under admission limits with every customer checked before its bytes
// are kept; a body is complete (in memory, or spooled to disk) before its first byte leaves, and
// is then sent at the client's pace, every write under a deadline.
package listing

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Defaults of Options.
const (
	DefaultWindow       = 8 << 20
	DefaultCacheBytes   = 64 << 20
	DefaultMaxReads     = 4 // each holds a database connection and up to a window of memory
	DefaultQueueTimeout = 2 * time.Second
	DefaultSpoolBytes   = 4 << 30
	DefaultWriteStall   = 10 * time.Second
)

// memoryWindows is how many windows of memory the bodies being built and sent may hold in all.
const memoryWindows = 4

// Checker checks the list's documents before their bytes are kept (contract.ResponseValidator).
type Checker interface {
	// Passed reports whether the exact bytes of document passed before: then it needs no check.
	Passed(document []byte) bool
	// CheckEntry checks document as element index of the list; an error stops the list.
	CheckEntry(ctx context.Context, index int, document []byte) error
}

// Options tune a Lister. Zero values take the defaults; a negative CacheBytes caches nothing.
type Options struct {
	Window     int   // the most bytes of one body held in memory; a larger one is spooled
	CacheBytes int64 // bounds the body cache, which keeps no body over a window or an eighth of it
	// MaxReads reads from the store run at once, MaxReadsPerTenant of them for one tenant
	// (default: half, and fewer than the CPUs, so one tenant's reads leave a core to others).
	MaxReads, MaxReadsPerTenant int
	QueueTimeout                time.Duration // how long a read waits for its turn before a 503
	SpoolDir                    string        // where spooled bodies go ("": os.TempDir, as os.CreateTemp takes it)
	SpoolBytes                  int64         // the disk spooled bodies take in all; a tenant half
	WriteStall                  time.Duration // how long one write to a client may take
}

// Lister writes customer lists. It is safe for concurrent use.
type Lister struct {
	reader   store.Store
	checker  Checker
	outcomes *prometheus.CounterVec
	opts     Options // with the defaults filled in
	cache    *bodyCache
	reads    *readSlots
	spool    *budget
	memory   *semaphore.Weighted
}

// New returns a Lister reading from r, each document checked by checker, that counts the lists
// it answers by outcome (cached, read, spooled, busy, cut_short, dropped_erased).
func New(r store.Store, checker Checker, opts Options, outcomes *prometheus.CounterVec) *Lister {
	opts.Window = cmp.Or(opts.Window, DefaultWindow)
	opts.CacheBytes = cmp.Or(opts.CacheBytes, DefaultCacheBytes)
	opts.MaxReads = cmp.Or(opts.MaxReads, DefaultMaxReads)
	opts.MaxReadsPerTenant = cmp.Or(opts.MaxReadsPerTenant, max(1, min(opts.MaxReads/2, runtime.GOMAXPROCS(0)-1)))
	opts.QueueTimeout = cmp.Or(opts.QueueTimeout, DefaultQueueTimeout)
	opts.SpoolBytes = cmp.Or(opts.SpoolBytes, DefaultSpoolBytes)
	opts.WriteStall = cmp.Or(opts.WriteStall, DefaultWriteStall)
	return &Lister{
		reader:   r,
		checker:  checker,
		outcomes: outcomes,
		opts:     opts,
		cache:    newBodyCache(opts.CacheBytes, min(opts.Window, int(opts.CacheBytes/8))),
		reads:    newReadSlots(opts.MaxReads, opts.MaxReadsPerTenant),
		spool:    newBudget(opts.SpoolBytes, max(opts.SpoolBytes/2, 1)),
		memory:   semaphore.NewWeighted(int64(memoryWindows * opts.Window)),
	}
}

// Request names the list to write, and its cached body. Version is the organization's as the
// caller found it; the body may be of a newer one, and its ETag then says so.
type Request struct {
	TenantID, OrganizationID, Version string
	Gzip                              bool
}

// ErrCutShort wraps the error of a body whose sending failed after its first bytes left: the
// client went away or stalled. Nothing is left to tell the client.
var ErrCutShort = errors.New("the list was cut short")

// Why a read is refused for want of room: the client may retry later.
var (
	ErrNoReadSlot = errors.New("busy: no read slot within the queue timeout")
	ErrSpoolFull  = errors.New("busy: the spool budget for large lists is spent")
)

// Write writes the list as a 200 answer to w and returns how many customers the client
// received whole. An error not wrapping ErrCutShort means nothing was sent.
func (l *Lister) Write(ctx context.Context, w http.ResponseWriter, r Request) (int, error) {
	ctx, span := telemetry.Start(ctx, "read and write customers")
	defer span.End()
	b, key, err := l.find(ctx, r)
	if err != nil {
		return 0, err
	}
	defer b.release()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ETag", ETag(key.Version, key.Gzip))
	h.Set("Vary", "Accept-Encoding")
	if key.Gzip {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.FormatInt(b.size, 10))
	w.WriteHeader(http.StatusOK)
	sent, err := send(w, b, l.opts.WriteStall)
	if err != nil {
		l.outcomes.WithLabelValues("cut_short").Inc()
		return b.customersWithin(sent), fmt.Errorf("%w after %d of %d bytes: %w", ErrCutShort, sent, b.size, err)
	}
	return b.customers, nil
}

// find returns the body of the list, from the cache or from the store, and the key it answers.
func (l *Lister) find(ctx context.Context, key Request) (*body, Request, error) {
	if b := l.cache.get(key); b != nil {
		l.outcomes.WithLabelValues("cached").Inc()
		return b, key, nil
	}
	identity := key
	identity.Gzip = false
	if b := l.cache.get(identity); key.Gzip && b != nil { // as good as the database, and cheaper
		compressed := compressCached(b)
		l.cache.put(key, compressed)
		l.outcomes.WithLabelValues("cached").Inc()
		return compressed, key, nil
	}
	b, key, err := l.produce(ctx, key)
	switch {
	case err != nil:
		return nil, key, err
	case b.file != nil:
		l.outcomes.WithLabelValues("spooled").Inc()
		return b, key, nil
	}
	l.outcomes.WithLabelValues("read").Inc()
	if l.cache.fits(b.size) {
		if joined := b.joined(); l.cache.put(key, joined) {
			b.release() // the cache keeps a copy: this memory goes back now, not after a slow client
			return joined, key, nil
		}
	}
	return b, key, nil
}

// produce reads the list from a store snapshot into a body, under admission: the slot and the
// database connection are given back when the body is complete, before it is sent.
func (l *Lister) produce(ctx context.Context, key Request) (_ *body, _ Request, err error) {
	release, err := l.admit(ctx, key.TenantID)
	if err != nil {
		return nil, key, l.busy(err)
	}
	defer release()
	snap, err := l.reader.ReadOrganization(ctx, key.TenantID, key.OrganizationID)
	if err != nil {
		return nil, key, fmt.Errorf("read organization %q: %w", key.OrganizationID, err)
	}
	defer snap.Close()
	key.Version = snap.Version()
	out := &body{l: l, tenant: key.TenantID}
	enc := newEncoder(out, key.Gzip)
	checked := &checkedEncoder{ctx: ctx, checker: l.checker, enc: enc, serial: runtime.GOMAXPROCS(0) == 1}
	defer func() {
		checked.close()
		enc.close()
		if err != nil {
			out.release()
			err = l.busy(err)
		}
	}()
	for c, err := range snap.Customers() {
		if err == nil {
			err = checked.entry(c.Document)
		}
		if err != nil {
			return nil, key, err
		}
	}
	for _, end := range []func() error{checked.end, enc.end, snap.Close, out.flush} {
		if err := end(); err != nil {
			return nil, key, err
		}
	}
	return out, key, nil
}

// busy counts a read refused for want of room (ErrNoReadSlot, ErrSpoolFull); it returns err.
func (l *Lister) busy(err error) error {
	if errors.Is(err, ErrNoReadSlot) || errors.Is(err, ErrSpoolFull) {
		l.outcomes.WithLabelValues("busy").Inc()
	}
	return err
}

// encoder writes the list's JSON: each document as {"customer": document}, comma separated,
// compressed when asked, with a mark every markEvery bytes of JSON; it counts the customers and
// keeps the marks in the body.
type encoder struct {
	out      *body
	w        io.Writer
	gz       *gzip.Writer
	unmarked int
}

func newEncoder(out *body, compress bool) *encoder {
	e := &encoder{out: out, w: out}
	if compress {
		e.gz = gzipStream.get(out)
		e.w = e.gz
	}
	return e
}

var firstOpen, entryOpen, entryClose = []byte(`[{"customer":`), []byte(`,{"customer":`), []byte(`}`)

func (e *encoder) entry(document []byte) error {
	open := entryOpen
	if e.out.customers == 0 {
		open = firstOpen
	}
	for _, p := range [][]byte{open, document, entryClose} {
		if _, err := e.w.Write(p); err != nil {
			return err
		}
	}
	e.out.customers++
	if e.unmarked += len(document); e.unmarked >= markEvery {
		e.unmarked = 0
		if e.gz != nil {
			if err := e.gz.Flush(); err != nil {
				return err
			}
		}
		e.out.marks = append(e.out.marks, mark{offset: e.out.size, customers: e.out.customers})
	}
	return nil
}

func (e *encoder) end() error {
	closing := "]\n"
	if e.out.customers == 0 {
		closing = "[]\n"
	}
	if _, err := e.w.Write([]byte(closing)); err != nil || e.gz == nil {
		return err
	}
	return e.gz.Close()
}

func (e *encoder) close() {
	if e.gz != nil {
		gzipStream.put(e.gz)
		e.gz = nil
	}
}

// compressCached compresses a cached identity body, flushing at its marks so that the gzip
// body has marks of its own. Writes to a bytes.Buffer do not fail.
func compressCached(identity *body) *body {
	var buf bytes.Buffer
	gz := gzipCached.get(&buf)
	defer gzipCached.put(gz)
	out := &body{customers: identity.customers}
	var from int64
	for _, m := range identity.marks {
		_, _ = gz.Write(identity.mem[0][from:m.offset])
		_ = gz.Flush()
		out.marks = append(out.marks, mark{offset: int64(buf.Len()), customers: m.customers})
		from = m.offset
	}
	_, _ = gz.Write(identity.mem[0][from:])
	_ = gz.Close()
	out.mem, out.size = [][]byte{buf.Bytes()}, int64(buf.Len())
	return out
}

// Compressors hold several hundred KB of state each: they are recycled. Bodies from the store
// are compressed as produced, for speed; a cached one once per version.
var gzipStream, gzipCached = &gzipPool{level: gzip.BestSpeed}, &gzipPool{level: gzip.DefaultCompression}

type gzipPool struct {
	level int
	sync.Pool
}

func (p *gzipPool) get(w io.Writer) *gzip.Writer {
	gz, ok := p.Get().(*gzip.Writer)
	if !ok {
		gz, _ = gzip.NewWriterLevel(w, p.level) // the levels above are valid
	}
	gz.Reset(w)
	return gz
}

func (p *gzipPool) put(gz *gzip.Writer) {
	gz.Reset(io.Discard)
	p.Put(gz)
}
