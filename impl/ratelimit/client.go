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

// recentFailure is how long a failure keeps an address among those the global limit refuses.
const recentFailure = time.Minute

// maxClients bounds the failing addresses kept; the least recently seen count as never failed.
const maxClients = 100_000

// ClientConfig sets the limits on failed authentication attempts: per client address and in
// total, each a rate per second with its burst (0: no such limit).
type ClientConfig struct {
	PerClient      float64
	PerClientBurst int
	Global         float64
	GlobalBurst    int
	// TrustForwardedFor takes the address from the last X-Forwarded-For entry (the proxy's):
	// only for a service reachable through that proxy alone, else clients choose their address.
	TrustForwardedFor bool
}

// Failures bounds the unverified work (signature checks, API token lookups) anyone can cause.
// Only failures are charged, to their address and to the global budget: charging every request
// let 40 forging addresses empty the global bucket and refuse real tenants. Admit refuses an
// address whose own bucket is empty, or, while the global bucket is empty, one that failed
// within recentFailure and has not succeeded since: an address that never failed is verified.
type Failures struct {
	cfg    ClientConfig
	global *rate.Limiter // nil: no global limit

	mu      sync.Mutex
	clients *simplelru.LRU[netip.Prefix, *client] // addresses that failed
}

// client is an address that failed.
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

// key is the address req's attempts are charged to; false without any limit.
func (f *Failures) key(req *http.Request) (netip.Prefix, bool) {
	if f.cfg.PerClient <= 0 && f.global == nil {
		return netip.Prefix{}, false
	}
	return clientKey(req, f.cfg.TrustForwardedFor), true
}

// Admit returns *TooMany for a request whose credentials should not be checked (see Failures).
// A bearer token the verifier remembers costs no signature check, so only the address's own
// bucket refuses it: its API token still costs a lookup.
func (f *Failures) Admit(req *http.Request, remembered bool) error {
	key, limited := f.key(req)
	if !limited {
		return nil
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients.Peek(key)
	if !ok {
		return nil // never failed, or long forgotten
	}
	if c.failures != nil {
		if err := empty(c.failures, now); err != nil {
			return err
		}
	}
	if remembered || f.global == nil || c.succeeded || now.Sub(c.lastFailure) >= recentFailure {
		return nil
	}
	return empty(f.global, now)
}

// empty returns *TooMany (at least a second) when bucket holds less than a token at now.
func empty(bucket *rate.Limiter, now time.Time) error {
	tokens := bucket.TokensAt(now)
	if tokens >= 1 {
		return nil
	}
	return tooMany(max(time.Duration((1-tokens)/float64(bucket.Limit())*float64(time.Second)), time.Second))
}

// Failed charges a failed attempt to its address and to the global budget. An empty bucket
// stays empty rather than go into debt: a burst delays the next attempt by one refill at most.
func (f *Failures) Failed(req *http.Request) {
	key, limited := f.key(req)
	if !limited {
		return
	}
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

// Succeeded notes that a request of the address verified. It charges nothing.
func (f *Failures) Succeeded(req *http.Request) {
	key, limited := f.key(req)
	if !limited {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients.Peek(key); ok {
		c.succeeded = true
	}
}

// clientKey is the key failures are charged to: the IPv4 address, or the /64 of an IPv6 one (a
// subscriber commonly gets a whole /64). The address is the peer's or, with trustForwardedFor,
// the last X-Forwarded-For entry when it is an IP address; anything else there is ignored.
func clientKey(req *http.Request, trustForwardedFor bool) netip.Prefix {
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

func prefixOf(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	p, _ := addr.Prefix(min(addr.BitLen(), 64)) // cannot fail: the address is valid, with 32 or 128 bits
	return p
}
