package ratelimit

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// maxClients bounds how many client addresses' buckets are kept; the least recently seen are
// forgotten (and start again with a full bucket).
const maxClients = 100_000

// ClientConfig sets the coarse limit every API request meets before authentication.
type ClientConfig struct {
	// PerClient is the rate of requests per second from one client address, with PerClientBurst
	// (0: no per-address limit).
	PerClient      float64
	PerClientBurst int
	// Global is the rate of requests per second of all clients together, with GlobalBurst
	// (0: no global ceiling).
	Global      float64
	GlobalBurst int
	// TrustForwardedFor takes the client address from the last X-Forwarded-For entry (the one
	// the proxy in front of the service added) instead of the connection's peer. Only for a
	// service that can be reached through that proxy alone: otherwise clients choose their
	// address.
	TrustForwardedFor bool
}

// PerClient is the limiter in front of authentication: it bounds what an unauthenticated
// client (a flood of forged tokens, say) can make the service do, per client address and in
// total, before any signature is checked or API token looked up.
type PerClient struct {
	cfg    ClientConfig
	global *rate.Limiter

	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
}

// NewPerClient returns the limiter cfg describes.
func NewPerClient(cfg ClientConfig) *PerClient {
	buckets, _ := lru.New[string, *rate.Limiter](maxClients) // cannot fail: the size is positive
	cfg.PerClientBurst = max(cfg.PerClientBurst, 1)
	cfg.GlobalBurst = max(cfg.GlobalBurst, 1)
	p := &PerClient{cfg: cfg, buckets: buckets}
	if cfg.Global > 0 {
		p.global = rate.NewLimiter(rate.Limit(cfg.Global), cfg.GlobalBurst)
	}
	return p
}

// Middleware answers 429 with Retry-After to a client address over its rate, and to everyone
// while the global ceiling is reached.
func (p *PerClient) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	if p == nil || p.cfg.PerClient <= 0 && p.global == nil {
		return next
	}
	return func(c echo.Context) error {
		if err := p.take(ClientAddress(c.Request(), p.cfg.TrustForwardedFor), time.Now()); err != nil {
			return err
		}
		return next(c)
	}
}

// take charges one request to the address and to the global ceiling. A client over its own
// rate uses up none of the global budget.
func (p *PerClient) take(addr string, now time.Time) error {
	if p.cfg.PerClient > 0 {
		p.mu.Lock()
		limiter, ok := p.buckets.Get(addr)
		if !ok {
			limiter = rate.NewLimiter(rate.Limit(p.cfg.PerClient), p.cfg.PerClientBurst)
			p.buckets.Add(addr, limiter)
		}
		p.mu.Unlock()
		if err := tooMany(take(limiter, now)); err != nil {
			return err
		}
	}
	if p.global != nil {
		return tooMany(take(p.global, now))
	}
	return nil
}

// ClientAddress is the IP address a request comes from: the connection's peer, or with
// trustForwardedFor the last entry of X-Forwarded-For when there is one.
func ClientAddress(req *http.Request, trustForwardedFor bool) string {
	if trustForwardedFor {
		if values := req.Header.Values("X-Forwarded-For"); len(values) > 0 {
			entries := strings.Split(values[len(values)-1], ",")
			if last := strings.TrimSpace(entries[len(entries)-1]); last != "" {
				return last
			}
		}
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}
