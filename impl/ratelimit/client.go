package ratelimit

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"
)

// RecentFailure is how long a failure keeps an address among those the global limit refuses.
const RecentFailure = time.Minute

// maxClients bounds how many client addresses' records are kept; the least recently seen are
// forgotten (and count as never having failed).
const maxClients = 100_000

// ClientConfig sets the limits on failed authentication attempts, per client address and in
// total.
type ClientConfig struct {
	// PerClient is the rate of failed attempts per second one client address may make, with
	// PerClientBurst (0: no per-address limit).
	PerClient      float64
	PerClientBurst int
	// Global is the rate of failed attempts per second of all clients together, with
	// GlobalBurst (0: no global limit).
	Global      float64
	GlobalBurst int
	// TrustForwardedFor takes the client address from the last X-Forwarded-For entry (the one
	// the proxy in front of the service added) instead of the connection's peer. Only for a
	// service that can be reached through that proxy alone: otherwise clients choose their
	// address.
	TrustForwardedFor bool
}

// Failures bounds unverified work: the signature checks and API token lookups that anyone can
// make the service do by sending credentials, most of what a request costs before it is known
// to be a tenant's.
//
// Only failures are charged. Each failed authentication attempt takes one token from its
// client address's bucket and one from the global bucket; a success takes none. Charging every
// request instead (as this package once did) let forgers spend the budget that real tenants
// needed: 40 addresses, each under its own limit, emptied the global bucket and tenants with
// valid credentials got 429.
//
// Before a bearer token is verified (Admit), a request is refused only when
//   - its address's bucket is empty: that address keeps failing; or
//   - the global bucket is empty, and its address failed within the last RecentFailure and has
//     not succeeded since.
//
// An address that never failed, or not lately, is always verified: a global limit cannot tell a
// real tenant's first request from a forger's, so it holds back only addresses that have shown
// they fail. Once a many-address flood has spent the global budget, its addresses share what
// the global budget refills (the rate they are refused beyond), however slowly each of them
// goes, and nobody else is refused. What remains: an address that itself keeps failing is
// refused up front, even with a good but new token, until its bucket refills. A bearer token
// the verifier remembers meets the first rule only (see Admit).
type Failures struct {
	cfg    ClientConfig
	global *rate.Limiter // nil: no global limit

	mu      sync.Mutex
	clients *simplelru.LRU[netip.Prefix, *client] // addresses that failed
}

// client is what is known of an address that failed.
type client struct {
	failures    *rate.Limiter // nil without a per-address limit
	succeeded   bool          // a success came after its last failure
	lastFailure time.Time
}

// NewFailures returns the limits cfg describes.
func NewFailures(cfg ClientConfig) *Failures {
	clients, _ := simplelru.NewLRU[netip.Prefix, *client](maxClients, nil) // cannot fail: the size is positive
	cfg.PerClientBurst = max(cfg.PerClientBurst, 1)
	cfg.GlobalBurst = max(cfg.GlobalBurst, 1)
	f := &Failures{cfg: cfg, clients: clients}
	if cfg.Global > 0 {
		f.global = rate.NewLimiter(rate.Limit(cfg.Global), cfg.GlobalBurst)
	}
	return f
}

// off reports whether there is no limit at all.
func (f *Failures) off() bool { return f.cfg.PerClient <= 0 && f.global == nil }

// Admit returns the 429 problem (with Retry-After) to answer a request whose credentials are
// about to be checked, or nil when they may be: see Failures for when it refuses. A request
// whose bearer token the verifier remembers (remembered) costs no signature check, but its API
// token still costs a lookup: it is refused only when its own address's bucket is empty, so
// that a leaked access token cannot test made-up API tokens without limit.
func (f *Failures) Admit(req *http.Request, remembered bool) error {
	if f.off() {
		return nil
	}
	key := ClientKey(req, f.cfg.TrustForwardedFor)
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients.Peek(key)
	if !ok {
		return nil // never failed, or long forgotten
	}
	if c.failures != nil {
		if own := c.failures.TokensAt(now); own < 1 {
			return tooMany(max(until(c.failures, 1, own), time.Second))
		}
	}
	recent := now.Sub(c.lastFailure) < RecentFailure
	if remembered || f.global == nil || c.succeeded || !recent {
		return nil
	}
	global := f.global.TokensAt(now)
	if global >= 1 {
		return nil
	}
	return tooMany(max(until(f.global, 1, global), time.Second))
}

// Failed charges a failed authentication attempt to the request's client address and to the
// global budget. A bucket that is empty stays empty rather than go into debt, so that a burst
// of concurrent failures delays an address's next attempt by one refill at most.
func (f *Failures) Failed(req *http.Request) {
	if f.off() {
		return
	}
	key := ClientKey(req, f.cfg.TrustForwardedFor)
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients.Get(key)
	if !ok {
		c = &client{}
		if f.cfg.PerClient > 0 {
			c.failures = rate.NewLimiter(rate.Limit(f.cfg.PerClient), f.cfg.PerClientBurst)
		}
		f.clients.Add(key, c)
	}
	c.succeeded, c.lastFailure = false, now
	if c.failures != nil {
		c.failures.AllowN(now, 1)
	}
	if f.global != nil {
		f.global.AllowN(now, 1)
	}
}

// Succeeded notes that a request of the client address verified. It charges nothing.
func (f *Failures) Succeeded(req *http.Request) {
	if f.off() {
		return
	}
	key := ClientKey(req, f.cfg.TrustForwardedFor)
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients.Peek(key); ok {
		c.succeeded = true
	}
}

// until is how long the bucket, holding tokens now, takes to hold want.
func until(bucket *rate.Limiter, want, tokens float64) time.Duration {
	return time.Duration((want - tokens) / float64(bucket.Limit()) * float64(time.Second))
}

// ClientKey is the key a request's failures are charged to: the client's IPv4 address, or the
// /64 of its IPv6 address (an IPv6 subscriber is commonly given a whole /64, so a finer key
// would give one client 2^64 buckets). An IPv4-mapped IPv6 address is its IPv4 address.
//
// The address is the connection's peer or, with trustForwardedFor, the last X-Forwarded-For
// entry (of the last such header) when it is an IP address. Anything else there (a host name,
// a port, garbage of any length) is ignored for the peer, so a key is never more than an
// address. A peer that is not an IP address (none on the service's TCP listener) is the zero
// prefix: one key for all such.
func ClientKey(req *http.Request, trustForwardedFor bool) netip.Prefix {
	if trustForwardedFor {
		if values := req.Header.Values("X-Forwarded-For"); len(values) > 0 {
			last := values[len(values)-1]
			last = last[strings.LastIndexByte(last, ',')+1:]
			if addr, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return prefixOf(addr)
			}
		}
	}
	if peer, err := netip.ParseAddrPort(req.RemoteAddr); err == nil {
		return prefixOf(peer.Addr())
	}
	return netip.Prefix{}
}

// prefixOf is the key of an address: its /32, or /64 for IPv6 (without any zone).
func prefixOf(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits) // cannot fail: the address is valid and has that many bits
	return p
}
