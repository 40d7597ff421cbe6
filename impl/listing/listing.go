// Package listing writes an organization's customer list, the 200 answer of the read path, so
// that neither its cost nor a slow client can take the service from others:
//
//   - small bodies come from a cache of encoded, validated bodies keyed by the organization's
//     version, so a hot read of an unchanged organization costs a version lookup and a write;
//   - other reads produce the body from one store snapshot, each customer checked by the
//     response validator (which remembers documents it passed) before its bytes are kept; the
//     documents it does not remember are checked on every core, in order (see checkedEncoder);
//   - a body is held in memory up to a window; a larger one goes to an unlinked temporary file
//     (the spool). Either way it is complete before its first byte leaves: every answer has a
//     Content-Length, and a failure is still a 500 problem;
//   - reads from the store are admitted under a global limit and a per-tenant one, and hold
//     their slot and database connection only while the database produces the body; beyond
//     the limits a read waits briefly, then gets 503;
//   - the body is then sent at the client's pace, every write under a deadline: a client that
//     stops reading is dropped after a bounded stall.
package listing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/semaphore"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Defaults of Options.
const (
	DefaultWindow       = 8 << 20
	DefaultCacheBytes   = 64 << 20
	DefaultQueueTimeout = 2 * time.Second
	DefaultSpoolBytes   = 4 << 30
	DefaultWriteStall   = 10 * time.Second
)

// DefaultMaxReads is how many reads from the store run at once by default: each holds a
// database connection and up to a window of memory while the database produces its list.
const DefaultMaxReads = 4

// DefaultMaxReadsPerTenant is how many of maxReads one tenant may take by default: half of
// them, and fewer than the CPUs, so that one tenant's reads leave a core to the others (a read
// keeps a core busy while the database produces its list); at least one.
func DefaultMaxReadsPerTenant(maxReads int) int {
	return max(1, min(maxReads/2, runtime.GOMAXPROCS(0)-1))
}

// memoryWindows is how many windows of memory the bodies being produced and sent may hold in
// all, beyond the cache; a body that finds no room goes to the spool however small it is.
const memoryWindows = 4

// Reader is what the lister needs of the store.
type Reader interface {
	ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error)
}

// Options tune a Lister. Zero values take the defaults; a negative CacheBytes caches nothing.
type Options struct {
	// Window is the most bytes of one body held in memory; a larger body is spooled to disk.
	Window int
	// CacheBytes bounds the cache of encoded bodies; bodies larger than a window or an eighth of
	// the cache are never cached.
	CacheBytes int64
	// MaxReads is how many reads from the store may run at once, and MaxReadsPerTenant how many
	// of them for one tenant (default: DefaultMaxReadsPerTenant).
	MaxReads          int
	MaxReadsPerTenant int
	// QueueTimeout is how long a read waits for its turn before it is refused with 503.
	QueueTimeout time.Duration
	// SpoolDir holds the spool's unlinked files (default: the system's temporary directory).
	SpoolDir string
	// SpoolBytes bounds the disk the spooled bodies take together; one tenant may take half.
	// A read that finds no room is refused with 503.
	SpoolBytes int64
	// WriteStall is how long one write of a body to its client may take (a client that reads
	// nothing for that long is dropped).
	WriteStall time.Duration
}

// Lister writes customer lists. It is safe for concurrent use.
type Lister struct {
	reader    Reader
	window    int
	cache     *bodyCache
	admission *admission
	memory    *semaphore.Weighted
	spool     *spoolBudget
	spoolDir  string
	stall     time.Duration
	log       *slog.Logger
	metrics   *metrics.Metrics
}

// New returns a Lister reading from r.
func New(r Reader, opts Options, log *slog.Logger, m *metrics.Metrics) *Lister {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.MaxReads <= 0 {
		opts.MaxReads = DefaultMaxReads
	}
	if opts.MaxReadsPerTenant <= 0 {
		opts.MaxReadsPerTenant = DefaultMaxReadsPerTenant(opts.MaxReads)
	}
	if opts.QueueTimeout <= 0 {
		opts.QueueTimeout = DefaultQueueTimeout
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	if opts.SpoolBytes <= 0 {
		opts.SpoolBytes = DefaultSpoolBytes
	}
	if opts.WriteStall <= 0 {
		opts.WriteStall = DefaultWriteStall
	}
	return &Lister{
		reader:    r,
		window:    opts.Window,
		cache:     newBodyCache(opts.CacheBytes, min(opts.Window, int(opts.CacheBytes/8))),
		admission: newAdmission(opts.MaxReads, opts.MaxReadsPerTenant, opts.QueueTimeout),
		memory:    semaphore.NewWeighted(int64(memoryWindows * opts.Window)),
		spool:     newSpoolBudget(opts.SpoolBytes),
		spoolDir:  opts.SpoolDir,
		stall:     opts.WriteStall,
		log:       log,
		metrics:   m,
	}
}

// Request names the list to write.
type Request struct {
	TenantID, OrganizationID string
	// Version is the organization's version as the caller found it; the body may be of a newer
	// one, and then its ETag says so.
	Version string
	Gzip    bool
}

// ErrCutShort wraps the error of a body whose sending failed after its first bytes left: the
// client went away or stalled. Nothing is left to tell the client; the caller only logs.
var ErrCutShort = errors.New("the list was cut short")

// Write writes the list as a 200 answer to w and returns how many customers the client
// received whole. An error not wrapping ErrCutShort means nothing was sent.
func (l *Lister) Write(ctx context.Context, w http.ResponseWriter, r Request) (int, error) {
	ctx, span := telemetry.Start(ctx, "read and write customers")
	defer span.End()
	checker := contract.CheckerOf(w)
	b, key, err := l.find(ctx, r, checker)
	if err != nil {
		return 0, err
	}
	defer b.release()
	setHeaders(w.Header(), key)
	w.Header().Set("Content-Length", strconv.FormatInt(b.size, 10))
	if checker != nil {
		if err := checker.SendChecked(http.StatusOK); err != nil {
			return 0, err
		}
	}
	w.WriteHeader(http.StatusOK)
	sent, err := send(w, b, l.stall)
	if err != nil {
		l.metrics.ListBodies.WithLabelValues("cut_short").Inc()
		return b.customersWithin(sent), fmt.Errorf("%w after %d of %d bytes: %w", ErrCutShort, sent, b.size, err)
	}
	return b.customers, nil
}

// find returns the body of the list, from the cache or from the store, and the key it answers.
func (l *Lister) find(ctx context.Context, r Request, checker contract.ListChecker) (*body, cacheKey, error) {
	key := cacheKey{tenant: r.TenantID, organization: r.OrganizationID, version: r.Version, gzip: r.Gzip}
	if c, ok := l.cache.get(key); ok {
		l.metrics.ListBodies.WithLabelValues("cached").Inc()
		return c.body(), key, nil
	}
	if r.Gzip {
		// The identity body of the same version is as good as the database, and cheaper.
		identity := key
		identity.gzip = false
		if c, ok := l.cache.get(identity); ok {
			compressed, err := compressCached(c)
			if err != nil {
				return nil, key, err
			}
			l.cache.put(key, compressed)
			l.metrics.ListBodies.WithLabelValues("cached").Inc()
			return compressed.body(), key, nil
		}
	}
	b, key, err := l.produce(ctx, r, checker)
	if err != nil {
		return nil, key, err
	}
	if b.file != nil {
		l.metrics.ListBodies.WithLabelValues("spooled").Inc()
		return b, key, nil
	}
	l.metrics.ListBodies.WithLabelValues("read").Inc()
	if l.cache.fits(b.size) && l.cache.put(key, cachedBody{data: b.joined(), customers: b.customers, marks: b.marks}) {
		// The cache keeps a copy: this one's memory goes back now, not after a slow client.
		c, _ := l.cache.get(key)
		b.release()
		return c.body(), key, nil
	}
	return b, key, nil
}

// produce reads the list from a store snapshot into a body, under admission: the slot and the
// database connection are given back when the body is complete, before it is sent.
func (l *Lister) produce(ctx context.Context, r Request, checker contract.ListChecker) (*body, cacheKey, error) {
	key := cacheKey{tenant: r.TenantID, organization: r.OrganizationID, version: r.Version, gzip: r.Gzip}
	release, err := l.admission.acquire(ctx, r.TenantID)
	if errors.Is(err, errBusy) {
		return nil, key, l.busy("The service is busy with other large reads; retry later.")
	}
	if err != nil {
		return nil, key, err
	}
	defer release()
	snap, err := l.reader.ReadOrganization(ctx, r.TenantID, r.OrganizationID)
	if err != nil {
		return nil, key, fmt.Errorf("read organization %q: %w", r.OrganizationID, err)
	}
	defer snap.Close()
	key.version = snap.Version()
	out := &builder{l: l, tenant: r.TenantID}
	enc := newEncoder(out, key.gzip)
	defer enc.close()
	checked := newCheckedEncoder(ctx, checker, enc)
	defer checked.close()
	for c, err := range snap.Customers() {
		if err == nil {
			err = checked.entry(c.Document)
		}
		if err != nil {
			out.discard()
			return nil, key, l.failed(err)
		}
	}
	err = checked.end()
	if err == nil {
		err = enc.end()
	}
	if err == nil {
		err = snap.Close()
	}
	if err != nil {
		out.discard()
		return nil, key, l.failed(err)
	}
	b, err := out.finish(enc.customers, enc.marks)
	return b, key, err
}

// failed turns a failure to build a body into what the caller answers.
func (l *Lister) failed(err error) error {
	if errors.Is(err, errSpoolFull) {
		return l.busy("The service is busy with other large answers; retry later.")
	}
	return err
}

func (l *Lister) busy(detail string) error {
	l.metrics.ListBodies.WithLabelValues("busy").Inc()
	return &problem.Error{Kind: problem.Unavailable, Detail: detail,
		Header: http.Header{"Retry-After": {problem.RetryAfterSeconds}}}
}

// setHeaders sets the representation headers of a 200 list.
func setHeaders(h http.Header, key cacheKey) {
	h.Set("Content-Type", "application/json")
	h.Set("ETag", ETag(key.version, key.gzip))
	h.Set("Vary", "Accept-Encoding")
	if key.gzip {
		h.Set("Content-Encoding", "gzip")
	}
}

// encoder writes the list's JSON: each document as {"customer": document}, comma separated,
// compressed when asked, with a mark every markEvery bytes of JSON.
type encoder struct {
	out       *builder
	w         io.Writer
	gz        *gzip.Writer
	customers int
	marks     []mark
	unmarked  int
}

func newEncoder(out *builder, compress bool) *encoder {
	e := &encoder{out: out, w: out}
	if compress {
		e.gz = gzipStream.get(out)
		e.w = e.gz
	}
	return e
}

var (
	listOpen   = []byte(`[`)
	entrySep   = []byte(`,`)
	entryOpen  = []byte(`{"customer":`)
	entryClose = []byte(`}`)
)

func (e *encoder) entry(document []byte) error {
	sep := entrySep
	if e.customers == 0 {
		sep = listOpen
	}
	for _, p := range [][]byte{sep, entryOpen, document, entryClose} {
		if _, err := e.w.Write(p); err != nil {
			return err
		}
	}
	e.customers++
	if e.unmarked += len(document); e.unmarked >= markEvery {
		e.unmarked = 0
		if e.gz != nil {
			if err := e.gz.Flush(); err != nil {
				return err
			}
		}
		e.marks = append(e.marks, mark{offset: e.out.size, customers: e.customers})
	}
	return nil
}

func (e *encoder) end() error {
	closing := "]\n"
	if e.customers == 0 {
		closing = "[]\n"
	}
	if _, err := e.w.Write([]byte(closing)); err != nil {
		return err
	}
	if e.gz != nil {
		return e.gz.Close()
	}
	return nil
}

func (e *encoder) close() {
	if e.gz != nil {
		gzipStream.put(e.gz)
		e.gz = nil
	}
}

// compressCached compresses a cached identity body, flushing at its marks so that the gzip
// body has marks of its own.
func compressCached(identity cachedBody) (cachedBody, error) {
	buf := &sliceWriter{}
	gz := gzipCached.get(buf)
	defer gzipCached.put(gz)
	out := cachedBody{customers: identity.customers}
	var from int64
	for _, m := range identity.marks {
		if _, err := gz.Write(identity.data[from:m.offset]); err != nil {
			return cachedBody{}, fmt.Errorf("compress: %w", err)
		}
		if err := gz.Flush(); err != nil {
			return cachedBody{}, fmt.Errorf("compress: %w", err)
		}
		out.marks = append(out.marks, mark{offset: int64(len(buf.b)), customers: m.customers})
		from = m.offset
	}
	if _, err := gz.Write(identity.data[from:]); err != nil {
		return cachedBody{}, fmt.Errorf("compress: %w", err)
	}
	if err := gz.Close(); err != nil {
		return cachedBody{}, fmt.Errorf("compress: %w", err)
	}
	out.data = buf.b
	return out, nil
}

// sliceWriter collects bytes.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// gzipPool recycles compressors of one level: each holds several hundred KB of state.
type gzipPool struct {
	level int
	pool  sync.Pool
}

// Compression levels: bodies read from the store are compressed as they are produced, where
// speed matters most; a cached identity body is compressed once per version, so it may take
// longer.
var (
	gzipStream = &gzipPool{level: gzip.BestSpeed}
	gzipCached = &gzipPool{level: gzip.DefaultCompression}
)

func (p *gzipPool) get(w io.Writer) *gzip.Writer {
	if gz, ok := p.pool.Get().(*gzip.Writer); ok {
		gz.Reset(w)
		return gz
	}
	gz, err := gzip.NewWriterLevel(w, p.level)
	if err != nil {
		panic(err) // the levels above are valid
	}
	return gz
}

func (p *gzipPool) put(gz *gzip.Writer) {
	gz.Reset(io.Discard)
	p.pool.Put(gz)
}
