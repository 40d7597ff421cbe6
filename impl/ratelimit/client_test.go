package ratelimit_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/ratelimit"
)

func TestClientKey(t *testing.T) {
	t.Parallel()
	garbage := strings.Repeat("x", 64<<10)
	tests := []struct {
		name       string
		remoteAddr string
		forwarded  []string
		trust      bool
		want       string
	}{
		{"the connection's peer by default", "192.0.2.7:4711", nil, false, "192.0.2.7/32"},
		{"X-Forwarded-For is ignored unless trusted", "192.0.2.7:4711", []string{"198.51.100.1"}, false, "192.0.2.7/32"},
		{"trusted, the last entry is the proxy's", "192.0.2.7:4711", []string{"203.0.113.9, 198.51.100.1"}, true, "198.51.100.1/32"},
		{"trusted, the last header of several", "192.0.2.7:4711", []string{"203.0.113.9", "198.51.100.2"}, true, "198.51.100.2/32"},
		{"trusted but absent, the peer", "[2001:db8::1]:4711", nil, true, "2001:db8::/64"},
		{"an IPv6 peer is its /64", "[2001:db8:0:1:aaaa:bbbb:cccc:dddd]:4711", nil, false, "2001:db8:0:1::/64"},
		{"an IPv6 peer with a zone is its /64", "[fe80::1%eth0]:4711", nil, false, "fe80::/64"},
		{"an IPv4-mapped peer is IPv4", "[::ffff:192.0.2.7]:4711", nil, false, "192.0.2.7/32"},
		{"a forwarded IPv6 address is its /64", "192.0.2.7:4711", []string{"2001:db8:0:2::99"}, true, "2001:db8:0:2::/64"},
		{"a forwarded IPv4-mapped address is IPv4", "192.0.2.7:4711", []string{"::ffff:198.51.100.3"}, true, "198.51.100.3/32"},
		{"a forwarded entry that is no address: the peer", "192.0.2.7:4711", []string{"203.0.113.9, proxy.example"}, true, "192.0.2.7/32"},
		{"a forwarded address with a port: the peer", "192.0.2.7:4711", []string{"198.51.100.1:443"}, true, "192.0.2.7/32"},
		{"an empty last entry: the peer", "192.0.2.7:4711", []string{"198.51.100.1,"}, true, "192.0.2.7/32"},
		{"64 KiB of garbage: the peer", "192.0.2.7:4711", []string{garbage}, true, "192.0.2.7/32"},
		{"64 KiB of garbage in the last header: the peer", "192.0.2.7:4711", []string{"198.51.100.1", "198.51.100.2," + garbage}, true, "192.0.2.7/32"},
		{"a peer that is no address: the zero key", "@", nil, false, "invalid Prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remoteAddr
			for _, v := range tc.forwarded {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := ratelimit.ClientKey(req, tc.trust).String(); got != tc.want {
				t.Errorf("ClientKey = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("addresses of one /64 share a key, the next /64 has its own", func(t *testing.T) {
		t.Parallel()
		key := func(addr string) netip.Prefix {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = "[" + addr + "]:1"
			return ratelimit.ClientKey(req, false)
		}
		if key("2001:db8::1") != key("2001:db8::ffff:ffff:ffff:ffff") {
			t.Error("two addresses of 2001:db8::/64 have different keys")
		}
		if key("2001:db8::1") == key("2001:db8:0:1::1") {
			t.Error("addresses of two /64s share a key")
		}
	})
}

// from returns a request of the client address ip.
func from(ip string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = netip.AddrPortFrom(netip.MustParseAddr(ip), 4711).String()
	return req
}

// wantAdmitted fails unless err is nil.
func wantAdmitted(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// wantRefused fails unless err is a refusal with a Retry-After of at least one second.
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	var tm *ratelimit.TooMany
	if !errors.As(err, &tm) {
		t.Fatalf("%s: %v, want 429", what, err)
	}
	if tm.RetryAfter < 1 {
		t.Errorf("%s: Retry-After %d", what, tm.RetryAfter)
	}
}

// The rates are tiny, so that nothing refills while a test runs.
func TestFailuresRefuseOnlyAddressesThatFail(t *testing.T) {
	t.Parallel()
	t.Run("an address that used up its failures is refused, others are not", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 3, Global: 0.001, GlobalBurst: 1000})
		for i := range 3 {
			wantAdmitted(t, f.Admit(from("192.0.2.1"), false), fmt.Sprintf("attempt %d", i))
			f.Failed(from("192.0.2.1"))
		}
		wantRefused(t, f.Admit(from("192.0.2.1"), false), "a fourth attempt")
		f.Succeeded(from("192.0.2.1"))
		wantRefused(t, f.Admit(from("192.0.2.1"), false), "after a success (its bucket is still empty)")
		wantAdmitted(t, f.Admit(from("192.0.2.2"), false), "another address")
	})
	t.Run("successes are never charged", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 1, Global: 0.001, GlobalBurst: 1})
		for i := range 100 {
			wantAdmitted(t, f.Admit(from("192.0.2.1"), false), fmt.Sprintf("request %d", i))
			f.Succeeded(from("192.0.2.1"))
		}
	})
	t.Run("with the global budget spent, only addresses that failed lately are refused", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 10, Global: 0.001, GlobalBurst: 4})
		for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"} {
			f.Failed(from(ip))
		}
		wantRefused(t, f.Admit(from("192.0.2.1"), false), "a failing address")
		wantRefused(t, f.Admit(from("::ffff:192.0.2.1"), false), "the same address, IPv4-mapped")
		wantAdmitted(t, f.Admit(from("192.0.2.99"), false), "an address that never failed")
		f.Succeeded(from("192.0.2.2"))
		wantAdmitted(t, f.Admit(from("192.0.2.2"), false), "an address that succeeded since its failure")
		f.Failed(from("192.0.2.2"))
		wantRefused(t, f.Admit(from("192.0.2.2"), false), "after a failure that followed its success")
	})
	t.Run("with the global budget spent, an address that fails slowly is refused all the same", func(t *testing.T) {
		t.Parallel()
		// Its own bucket refills at once: a flood spread thin over many addresses.
		f := ratelimit.NewFailures(ratelimit.ClientConfig{PerClient: 1e6, PerClientBurst: 5, Global: 0.001, GlobalBurst: 1})
		f.Failed(from("192.0.2.1"))
		time.Sleep(10 * time.Millisecond) // longer only refills more
		wantRefused(t, f.Admit(from("192.0.2.1"), false), "an address that failed a moment ago")
		wantAdmitted(t, f.Admit(from("192.0.2.2"), false), "an address that never failed")
	})
	t.Run("a remembered bearer token meets only its own address's bucket", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 2, Global: 0.001, GlobalBurst: 2})
		f.Failed(from("192.0.2.1"))
		f.Failed(from("192.0.2.2"))
		wantAdmitted(t, f.Admit(from("192.0.2.2"), true), "the global budget is spent, but the token is remembered")
		f.Failed(from("192.0.2.1"))
		wantRefused(t, f.Admit(from("192.0.2.1"), true), "an address whose own bucket is empty (made-up API tokens with a leaked access token)")
	})
	t.Run("an IPv6 /64 is one address", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{PerClient: 0.001, PerClientBurst: 2})
		f.Failed(from("2001:db8::1"))
		f.Failed(from("2001:db8::2"))
		wantRefused(t, f.Admit(from("2001:db8::3"), false), "a third address of the /64")
		wantAdmitted(t, f.Admit(from("2001:db8:0:1::1"), false), "the next /64")
	})
	t.Run("a global limit alone holds back failing addresses", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{Global: 0.001, GlobalBurst: 2})
		f.Failed(from("192.0.2.1"))
		wantAdmitted(t, f.Admit(from("192.0.2.1"), false), "within the global budget")
		f.Failed(from("192.0.2.2"))
		wantRefused(t, f.Admit(from("192.0.2.1"), false), "a failing address over the global budget")
		wantAdmitted(t, f.Admit(from("192.0.2.3"), false), "an address that never failed")
	})
	t.Run("no limits refuse nothing", func(t *testing.T) {
		t.Parallel()
		f := ratelimit.NewFailures(ratelimit.ClientConfig{})
		for range 100 {
			f.Failed(from("192.0.2.1"))
		}
		wantAdmitted(t, f.Admit(from("192.0.2.1"), false), "no limits")
	})
}
