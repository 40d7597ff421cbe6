package ratelimit_test

import (
	"errors"
	"testing"

	"github.com/cyrexa/customer-api/impl/ratelimit"
)

func TestEachTenantHasItsOwnBucket(t *testing.T) {
	t.Parallel()
	limiter := ratelimit.New(0.5, 2) // one request every two seconds, two at once
	for i := range 2 {
		if err := limiter.Take("tenant-a"); err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
	}
	var tm *ratelimit.TooMany
	if err := limiter.Take("tenant-a"); !errors.As(err, &tm) {
		t.Fatalf("over the burst: %v, want 429", err)
	}
	if tm.RetryAfter < 1 || tm.RetryAfter > 2 {
		t.Errorf("Retry-After = %d, want 1 or 2 seconds", tm.RetryAfter)
	}
	if err := limiter.Take("tenant-b"); err != nil {
		t.Errorf("another tenant was limited too: %v", err)
	}
}

func TestZeroRateIsUnlimited(t *testing.T) {
	t.Parallel()
	limiter := ratelimit.New(0, 1)
	for i := range 100 {
		if err := limiter.Take("tenant-a"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}
