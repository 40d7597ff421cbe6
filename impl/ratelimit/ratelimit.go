// Package ratelimit keeps one tenant, or anyone who fails to authenticate, from using up the
// service: token buckets (golang.org/x/time/rate) per tenant for verified requests (PerTenant),
// and per client address and in total for failed attempts (Failures). A request over a limit
// answers 429 with Retry-After. It knows nothing of how requests are authenticated: the
// server's assembly tells it what verified and what failed.
package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/cyrexa/customer-api/impl/problem"
)

// maxTenants bounds how many tenants' buckets are kept; the least recently seen are forgotten
// (and start again with a full bucket).
const maxTenants = 100_000

// PerTenant limits each verified tenant to a rate of requests with a burst.
type PerTenant struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
}

// New returns a limiter of perSecond requests per tenant with the given burst. perSecond 0
// turns limiting off.
func New(perSecond float64, burst int) *PerTenant {
	buckets, _ := lru.New[string, *rate.Limiter](maxTenants) // cannot fail: the size is positive
	if burst < 1 {
		burst = 1
	}
	return &PerTenant{limit: rate.Limit(perSecond), burst: burst, buckets: buckets}
}

// Take charges one request to the tenant, or returns the 429 problem to answer when its bucket
// is empty. The service calls it for requests whose access token and API token both verified
// for the tenant, so that nobody else can spend a tenant's budget.
func (p *PerTenant) Take(tenantID string) error {
	if p.limit <= 0 {
		return nil
	}
	return tooMany(p.delay(tenantID, time.Now()))
}

// tooMany is the 429 problem for a wait, or nil when there is none.
func tooMany(wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	seconds := int(math.Ceil(wait.Seconds()))
	return &problem.Error{
		Kind:   problem.TooManyRequests,
		Detail: "Rate limit exceeded; retry after " + plural(seconds, "second") + ".",
		Header: http.Header{"Retry-After": {strconv.Itoa(seconds)}},
	}
}

// delay takes a token from the tenant's bucket, or says how long until one is there.
func (p *PerTenant) delay(tenantID string, now time.Time) time.Duration {
	p.mu.Lock()
	limiter, ok := p.buckets.Get(tenantID)
	if !ok {
		limiter = rate.NewLimiter(p.limit, p.burst)
		p.buckets.Add(tenantID, limiter)
	}
	p.mu.Unlock()
	return take(limiter, now)
}

// take takes a token from the bucket, or says how long until one is there. A refused request
// does not use up the bucket.
func take(limiter *rate.Limiter, now time.Time) time.Duration {
	r := limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// plural is n with its unit: "1 second", "2 seconds".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
