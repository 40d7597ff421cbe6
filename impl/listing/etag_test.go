package listing

import (
	"fmt"
	"testing"
)

func TestNoneMatch(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{`"v1"`, true},
		{`"v1-gzip"`, true},
		{`W/"v1"`, true},
		{`"v0", "v1"`, true},
		{`*`, true},
		{`"v2"`, false},
		{`v1`, false}, // not quoted: not an entity tag
		{`"v1`, false},
		{``, false},
		{`"V1"`, false},
	}
	for _, tc := range tests {
		if got := NoneMatch(tc.header, "v1"); got != tc.want {
			t.Errorf("NoneMatch(%q, v1) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"GZIP"}, true},
		{[]string{"br, gzip;q=0.5"}, true},
		{[]string{"identity"}, false},
		{[]string{"gzip;q=0"}, false},
		{[]string{"*"}, true},
		{[]string{"*, gzip;q=0"}, false},
		{[]string{"deflate", "x-gzip"}, true},
		{[]string{"gzip;q=nonsense"}, false},
	}
	for _, tc := range tests {
		if got := AcceptsGzip(tc.header); got != tc.want {
			t.Errorf("AcceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestBodyCacheStaysWithinItsBytes(t *testing.T) {
	c := newBodyCache(1000, 400)
	for i := range 20 {
		c.put(Request{OrganizationID: fmt.Sprint(i)}, &body{size: 300})
		if c.bytes > 1000 {
			t.Fatalf("after %d bodies the cache holds %d bytes", i+1, c.bytes)
		}
	}
	if c.get(Request{OrganizationID: "19"}) == nil {
		t.Error("the newest body was evicted")
	}
	if c.get(Request{OrganizationID: "0"}) != nil {
		t.Error("the oldest body was kept")
	}
	c.put(Request{OrganizationID: "big"}, &body{size: 401})
	if c.get(Request{OrganizationID: "big"}) != nil {
		t.Error("a body larger than the largest allowed was cached")
	}
	var none *bodyCache
	none.put(Request{}, &body{size: 1})
	if none.get(Request{}) != nil {
		t.Error("a nil cache found a body")
	}
}
