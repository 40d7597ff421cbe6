// Package ratelimit keeps anyone from using up the service: failed authentication attempts per
// client address and in total (Failures), and each verified tenant's requests (PerTenant), as
// token buckets (golang.org/x/time/rate). It knows nothing of HTTP answers or of authentication:
// it returns *TooMany, and the server's assembly tells it what failed and what verified.
package ratelimit

import (
	"math"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// maxTenants bounds the tenants' buckets kept; the least recently seen start again full.
const maxTenants = 100_000

// TooMany refuses a request over a limit; RetryAfter is the whole seconds to wait (at least 1).
type TooMany struct{ RetryAfter int }

func (e *TooMany) Error() string {
	return "rate limit exceeded; retry after " + strconv.Itoa(e.RetryAfter) + "s"
}

// tooMany is the refusal for a wait, which its callers only ask for when there is one.
func tooMany(wait time.Duration) error {
	return &TooMany{RetryAfter: int(math.Ceil(wait.Seconds()))}
}

// PerTenant limits each verified tenant to a rate of requests with a burst.
type PerTenant struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
}

// New returns a limiter of perSecond requests per tenant (0: unlimited) with the given burst.
func New(perSecond float64, burst int) *PerTenant {
	buckets, _ := lru.New[string, *rate.Limiter](maxTenants) // cannot fail: the size is positive
	return &PerTenant{limit: rate.Limit(perSecond), burst: max(burst, 1), buckets: buckets}
}

// Take charges one request to the tenant, or returns *TooMany when its bucket is empty. Only
// requests whose both credentials verified are charged, so nobody else spends a tenant's budget.
func (p *PerTenant) Take(tenantID string) error {
	if p.limit <= 0 {
		return nil
	}
	now := time.Now()
	p.mu.Lock()
	limiter, ok := p.buckets.Get(tenantID)
	if !ok {
		limiter = rate.NewLimiter(p.limit, p.burst)
		p.buckets.Add(tenantID, limiter)
	}
	p.mu.Unlock()
	// A refused request does not use up the bucket.
	r := limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return tooMany(d)
	}
	return nil
}
