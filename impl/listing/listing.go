// Package listing writes an organization's customer list, the 200 answer of the read path, so
// that its cost and memory do not grow with the organization's size times the cost of
// validating it:
//
//   - small bodies come from a cache of encoded, validated bodies keyed by the organization's
//     version, so a hot read of an unchanged organization costs a version lookup and a write;
//   - other reads stream the customers from one store snapshot, each customer checked by the
//     response validator (which remembers documents it passed) before its bytes are written;
//   - a body is held in memory up to a window only: one that fits is sent with a
//     Content-Length (and a failure still becomes a 500 problem), a larger one streams, and a
//     failure after its first bytes left aborts the connection before the last chunk;
//   - reads from the store are admitted under a global limit; beyond it a read waits briefly,
//     then gets 503.
package listing

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/metrics"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/reqid"
	"github.com/cyrexa/customer-api/impl/store"
	"github.com/cyrexa/customer-api/impl/telemetry"
)

// Defaults of Options.
const (
	DefaultWindow       = 8 << 20
	DefaultCacheBytes   = 64 << 20
	DefaultQueueTimeout = 2 * time.Second
)

// DefaultMaxReads is how many reads from the store run at once by default: each holds a
// database connection and up to a window of memory.
const DefaultMaxReads = 4

// Reader is what the lister needs of the store.
type Reader interface {
	ReadOrganization(ctx context.Context, tenantID, organizationID string) (store.Snapshot, error)
}

// Options tune a Lister. Zero values take the defaults; a negative CacheBytes caches nothing.
type Options struct {
	// Window is the most bytes of one body held in memory; a larger body streams.
	Window int
	// CacheBytes bounds the cache of encoded bodies; bodies larger than a window or an eighth of
	// the cache are never cached.
	CacheBytes int64
	// MaxReads is how many reads from the store may run at once.
	MaxReads int
	// QueueTimeout is how long a read waits for its turn before it is refused with 503.
	QueueTimeout time.Duration
}

// Lister writes customer lists. It is safe for concurrent use.
type Lister struct {
	reader       Reader
	window       int
	cache        *bodyCache
	slots        chan struct{}
	queueTimeout time.Duration
	log          *slog.Logger
	metrics      *metrics.Metrics
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
	if opts.QueueTimeout <= 0 {
		opts.QueueTimeout = DefaultQueueTimeout
	}
	return &Lister{
		reader:       r,
		window:       opts.Window,
		cache:        newBodyCache(opts.CacheBytes, min(opts.Window, int(opts.CacheBytes/8))),
		slots:        make(chan struct{}, opts.MaxReads),
		queueTimeout: opts.QueueTimeout,
		log:          log,
		metrics:      m,
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

// Write writes the list as a 200 answer to w. It returns the number of customers written. An
// error returned means nothing was sent; a failure after the first bytes left aborts the
// response (it panics with http.ErrAbortHandler, which net/http turns into a closed
// connection without the final chunk).
func (l *Lister) Write(ctx context.Context, w http.ResponseWriter, r Request) (int, error) {
	ctx, span := telemetry.Start(ctx, "read and write customers")
	defer span.End()
	key := cacheKey{tenant: r.TenantID, organization: r.OrganizationID, version: r.Version, gzip: r.Gzip}
	if b, ok := l.cache.get(key); ok {
		l.metrics.ListBodies.WithLabelValues("cached").Inc()
		return b.customers, l.writeWhole(w, key, b.body, nil)
	}
	if r.Gzip {
		// The identity body of the same version is as good as the database, and cheaper.
		if b, ok := l.cache.get(cacheKey{tenant: r.TenantID, organization: r.OrganizationID, version: r.Version}); ok {
			l.metrics.ListBodies.WithLabelValues("cached").Inc()
			return b.customers, l.compressCached(w, key, b)
		}
	}
	if err := l.admit(ctx); err != nil {
		return 0, err
	}
	defer func() { <-l.slots }()
	snap, err := l.reader.ReadOrganization(ctx, r.TenantID, r.OrganizationID)
	if err != nil {
		return 0, fmt.Errorf("read organization %q: %w", r.OrganizationID, err)
	}
	defer snap.Close()
	key.version = snap.Version()
	return l.stream(ctx, w, key, snap)
}

// admit waits for a read slot, at most the queue timeout.
func (l *Lister) admit(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(l.queueTimeout)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a read slot: %w", ctx.Err())
	case <-timer.C:
		l.metrics.ListBodies.WithLabelValues("busy").Inc()
		return &problem.Error{
			Kind:   problem.Unavailable,
			Detail: "The service is busy with other large reads; retry later.",
			Header: http.Header{"Retry-After": {problem.RetryAfterSeconds}},
		}
	}
}

// stream writes the snapshot's customers through the window.
func (l *Lister) stream(ctx context.Context, w http.ResponseWriter, key cacheKey, snap store.Snapshot) (int, error) {
	checker := contract.CheckerOf(w)
	win := &window{w: w, limit: l.window, key: key, checker: checker}
	sink := entryWriter{w: win}
	var gz *gzip.Writer
	if key.gzip {
		gz = gzipStream.get(win)
		defer gzipStream.put(gz)
		sink.w = gz
	}
	n := 0
	for c, err := range snap.Customers() {
		if err == nil && checker != nil {
			err = checker.CheckEntry(ctx, n, c.Document)
		}
		if err == nil {
			err = sink.entry(n, c.Document)
		}
		if err != nil {
			return n, l.fail(ctx, win, err)
		}
		n++
	}
	err := sink.end(n)
	if err == nil && gz != nil {
		err = gz.Close()
	}
	if err == nil {
		err = snap.Close()
	}
	if err != nil {
		return n, l.fail(ctx, win, err)
	}
	if win.streaming {
		l.metrics.ListBodies.WithLabelValues("streamed").Inc()
		if err := win.out.Flush(); err != nil {
			return n, l.fail(ctx, win, err)
		}
		return n, nil
	}
	l.metrics.ListBodies.WithLabelValues("read").Inc()
	body := win.buf
	l.cache.put(key, cachedBody{body: body, customers: n})
	return n, l.writeWhole(w, key, body, checker)
}

// fail ends a list that could not be completed: with an error when nothing was sent yet (the
// error handler answers), else by aborting the response.
func (l *Lister) fail(ctx context.Context, win *window, err error) error {
	if !win.streaming {
		return err
	}
	l.metrics.ListBodies.WithLabelValues("aborted").Inc()
	level := slog.LevelError
	if ctx.Err() != nil {
		level = slog.LevelInfo // the client went away
	}
	l.log.Log(ctx, level, "list aborted after its first bytes were sent",
		"request_id", reqid.FromContext(ctx), "organization", win.key.organization, "error", err.Error())
	panic(http.ErrAbortHandler)
}

// writeWhole sends a complete body with its length. A body from the cache was checked when it
// was made; checker is nil for it, and its head is still checked by the validator in front.
func (l *Lister) writeWhole(w http.ResponseWriter, key cacheKey, body []byte, checker contract.ListChecker) error {
	setHeaders(w.Header(), key)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if checker == nil {
		checker = contract.CheckerOf(w)
	}
	if checker != nil {
		if err := checker.SendChecked(http.StatusOK); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err // the client went away: nothing left to tell it
}

// compressCached answers gzip from the cached identity body of the same version, and caches
// the result.
func (l *Lister) compressCached(w http.ResponseWriter, key cacheKey, identity cachedBody) error {
	buf := &sliceWriter{}
	gz := gzipCached.get(buf)
	defer gzipCached.put(gz)
	if _, err := gz.Write(identity.body); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	l.cache.put(key, cachedBody{body: buf.b, customers: identity.customers})
	return l.writeWhole(w, key, buf.b, nil)
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

// window holds the first bytes of a body, up to limit; past that it sends the head and
// streams everything through a buffered writer.
type window struct {
	w         http.ResponseWriter
	limit     int
	key       cacheKey
	checker   contract.ListChecker
	buf       []byte
	streaming bool
	out       *bufio.Writer
}

func (x *window) Write(p []byte) (int, error) {
	if x.streaming {
		return x.out.Write(p)
	}
	if len(x.buf)+len(p) <= x.limit {
		x.buf = append(x.buf, p...)
		return len(p), nil
	}
	if err := x.startStreaming(); err != nil {
		return 0, err
	}
	return x.out.Write(p)
}

// startStreaming sends the head (without a length: the body goes chunked) and the bytes held.
func (x *window) startStreaming() error {
	setHeaders(x.w.Header(), x.key)
	if x.checker != nil {
		if err := x.checker.SendChecked(http.StatusOK); err != nil {
			return err
		}
	}
	x.w.WriteHeader(http.StatusOK)
	x.streaming = true
	x.out = bufio.NewWriterSize(x.w, 64<<10)
	_, err := x.out.Write(x.buf)
	x.buf = nil
	return err
}

// entryWriter writes the list's JSON: each document as {"customer": document}, comma separated.
type entryWriter struct {
	w io.Writer
}

var (
	listOpen   = []byte(`[`)
	entrySep   = []byte(`,`)
	entryOpen  = []byte(`{"customer":`)
	entryClose = []byte(`}`)
)

func (e entryWriter) entry(i int, document []byte) error {
	sep := entrySep
	if i == 0 {
		sep = listOpen
	}
	for _, p := range [][]byte{sep, entryOpen, document, entryClose} {
		if _, err := e.w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func (e entryWriter) end(n int) error {
	closing := "]\n"
	if n == 0 {
		closing = "[]\n"
	}
	_, err := e.w.Write([]byte(closing))
	return err
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

// Compression levels: bodies read from the store are compressed as they stream, where speed
// matters most; a cached identity body is compressed once per version, so it may take longer.
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
