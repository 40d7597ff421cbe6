package ratelimit_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/cyrexa/customer-api/impl/problem"
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
	var p *problem.Error
	if err := limiter.Take("tenant-a"); !errors.As(err, &p) || p.Kind != problem.TooManyRequests {
		t.Fatalf("over the burst: %v, want 429", err)
	}
	if s, err := strconv.Atoi(p.Header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After = %q, want 1 or 2 seconds", p.Header.Get("Retry-After"))
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
