package reliability

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Soak bounds, measured (docs/reliability.md): after warm-up the resident set of a 90 s run and a
// 10 min run moved by a few MB; the bound leaves room for the garbage collector's heap goal
// (GOGC=100 lets the heap reach twice the live set, which holds 1 000-customer bodies in flight
// and in the body cache) without hiding a leak of a body per request, which at this rate would add
// hundreds of MB a minute.
const (
	soakRSSGrowthMB    = 64 // most the resident set may grow from the end of warm-up to the end
	soakGoroutineSlack = 24 // most goroutines above the end of warm-up: the load's connections and requests
)

// TestSoak runs the mixed workload at a fixed rate below capacity for CUSTOMER_API_SOAK (default
// 90s; the documented full run is 10m) with an import every minute (a third of the run when
// shorter), samples the server's resident set and goroutines, and reports p50/p99 per minute.
// Every request must succeed, and memory and goroutines stay flat after warm-up.
func TestSoak(t *testing.T) {
	requireSuite(t)
	duration := envDuration(t, "CUSTOMER_API_SOAK", 90*time.Second)
	rate := 20.0
	if v := os.Getenv("CUSTOMER_API_SOAK_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("CUSTOMER_API_SOAK_RATE: %v", err)
		}
	}
	warmUp := min(time.Minute, duration/3)
	importEvery := min(time.Minute, duration/3)

	s := startServer(t, serverConfig{DataDir: t.TempDir()})
	targets := seedMixed(t, s)
	dir := t.TempDir()
	// The organization the imports rewrite: 100 customers, two versions by turns.
	soak := &target{Creds: targets[0].Creds, Org: "org-soak", Size: 100}
	versions := []string{writeOrg(t, dir, soak.Org, 100, ""), writeOrg(t, dir, soak.Org, 100, "v2")}
	s.importFile(t, soak.Creds.Tenant, soak.Org, versions[0])
	targets = append(targets, soak)

	start := time.Now()
	load := startLoad(t.Context(), s.Base, loadSpec{Workers: 8, Duration: duration, MaxRequests: int(rate*duration.Seconds()) + 8, Rate: rate, Targets: targets})
	defer load.Stop()
	type sample struct {
		at         time.Duration
		rssMB      float64
		goroutines int
	}
	var samples []sample
	var imports []string
	nextImport := start.Add(importEvery)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-load.done:
			break sampling
		case now := <-tick.C:
			samples = append(samples, sample{now.Sub(start), s.rssMB(t), s.goroutines(t)})
			if !now.Before(nextImport) && now.Before(start.Add(duration-5*time.Second)) {
				t0 := time.Now()
				s.importFile(t, soak.Creds.Tenant, soak.Org, versions[(len(imports)+1)%2])
				imports = append(imports, fmt.Sprintf("%v at %v", time.Since(t0).Round(time.Millisecond), t0.Sub(start).Round(time.Second)))
				nextImport = nextImport.Add(importEvery)
			}
		}
	}
	results := load.Wait()
	c := count(results)

	// Per minute: p50 and p99 of the requests that began in it.
	byMinute := map[int][]time.Duration{}
	for _, r := range results {
		m := int(r.Start.Sub(start) / time.Minute)
		byMinute[m] = append(byMinute[m], r.Duration)
	}
	minutes := slices.Sorted(func(yield func(int) bool) {
		for m := range byMinute {
			if !yield(m) {
				return
			}
		}
	})
	for _, m := range minutes {
		ds := byMinute[m]
		t.Logf("minute %d: %d requests, p50 %v, p99 %v", m+1, len(ds), percentile(ds, 50).Round(100*time.Microsecond), percentile(ds, 99).Round(100*time.Microsecond))
	}
	// Flatness after warm-up: least-squares slope, and growth from the first sample after
	// warm-up to the last.
	var after []sample
	for _, sm := range samples {
		if sm.at >= warmUp {
			after = append(after, sm)
		}
	}
	if len(after) < 3 {
		t.Fatalf("only %d samples after warm-up", len(after))
	}
	xs, rss, gs := make([]float64, len(after)), make([]float64, len(after)), make([]float64, len(after))
	maxG := 0
	for i, sm := range after {
		xs[i], rss[i], gs[i] = sm.at.Minutes(), sm.rssMB, float64(sm.goroutines)
		maxG = max(maxG, sm.goroutines)
	}
	t.Logf("soak %v at %.0f req/s (achieved %.1f req/s, %d ticks missed): %d requests (%s); imports: %v",
		duration, rate, float64(len(results))/duration.Seconds(), load.missed, len(results), c, imports)
	t.Logf("after %v warm-up: RSS %.1f -> %.1f MB (max %.1f), slope %.2f MB/min; goroutines %d -> %d (max %d), slope %.2f/min",
		warmUp, rss[0], rss[len(rss)-1], slices.Max(rss), slope(xs, rss), after[0].goroutines, after[len(after)-1].goroutines, maxG, slope(xs, gs))

	if c.Failed+c.OtherTransport+c.Refused+c.Shed != 0 {
		t.Errorf("errors in the soak: %s; first: %q", c, c.FirstFailures)
	}
	if len(imports) == 0 {
		t.Errorf("no import ran during the soak")
	}
	if growth := slices.Max(rss) - rss[0]; growth > soakRSSGrowthMB {
		t.Errorf("RSS grew %.1f MB after warm-up (%.1f -> max %.1f); bound %d MB", growth, rss[0], slices.Max(rss), soakRSSGrowthMB)
	}
	if maxG > after[0].goroutines+soakGoroutineSlack {
		t.Errorf("goroutines rose to %d after warm-up from %d; bound +%d", maxG, after[0].goroutines, soakGoroutineSlack)
	}
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxy, sxx float64
	for i := range xs {
		sx, sy, sxy, sxx = sx+xs[i], sy+ys[i], sxy+xs[i]*ys[i], sxx+xs[i]*xs[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// envDuration reads a duration from the environment, or def.
func envDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 30*time.Second {
		t.Fatalf("%s=%q: want a duration of at least 30s", name, v)
	}
	return d
}
