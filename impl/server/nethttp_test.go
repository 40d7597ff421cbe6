package server_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/server"
)

// TestNetHTTPAnswersWhatItCannotParse sends requests that Go's net/http refuses before the
// service sees them: their answers are its own plain text, not problem details, and
// docs/errors.md says so for each status.
func TestNetHTTPAnswersWhatItCannotParse(t *testing.T) {
	env := apitest.MustStart(t)
	docs, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	const target = "/customer/1.0.0/organization/getCustomers/org-1"
	host := "Host: " + env.Addr + "\r\n"
	huge := strings.Repeat("a", server.MaxHeaderBytes+8<<10)
	for _, tc := range []struct {
		name, raw, status, contentType string
	}{
		{"a malformed request line", "GET\r\n\r\n", "400 Bad Request", "text/plain; charset=utf-8"},
		{"a header line without a colon", "GET " + target + " HTTP/1.1\r\n" + host + "no colon here\r\n\r\n", "400 Bad Request", "text/plain; charset=utf-8"},
		{"a header name with a space", "GET " + target + " HTTP/1.1\r\n" + host + "Bad Name: x\r\n\r\n", "400 Bad Request", "text/plain; charset=utf-8"},
		{"a header value with a control character", "GET " + target + " HTTP/1.1\r\n" + host + "X-A: a\x01b\r\n\r\n", "400 Bad Request", "text/plain; charset=utf-8"},
		{"no Host in HTTP/1.1", "GET " + target + " HTTP/1.1\r\n\r\n", "400 Bad Request", "text/plain; charset=utf-8"},
		{"two different Content-Lengths", "GET " + target + " HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", "400 Bad Request", "text/plain; charset=utf-8"},
		{"headers over 64 KiB", "GET " + target + " HTTP/1.1\r\n" + host + "X-Padding: " + huge + "\r\n\r\n", "431 Request Header Fields Too Large", "text/plain; charset=utf-8"},
		{"an unknown Transfer-Encoding", "GET " + target + " HTTP/1.1\r\n" + host + "Transfer-Encoding: x-unknown\r\n\r\n", "501 Not Implemented", "text/plain; charset=utf-8"},
		{"HTTP/2.0 in the request line", "GET " + target + " HTTP/2.0\r\n" + host + "\r\n", "505 HTTP Version Not Supported", "text/plain; charset=utf-8"},
		{"an Expect other than 100-continue", "GET " + target + " HTTP/1.1\r\n" + host + "Expect: x-unknown\r\n\r\n", "417 Expectation Failed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := sendRaw(t, env.Addr, []byte(tc.raw))
			if !strings.HasPrefix(resp.Status, tc.status) || resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("%s %q %q, want %s %q", resp.Status, resp.Header.Get("Content-Type"), body, tc.status, tc.contentType)
			}
			if !strings.Contains(string(docs), "`"+tc.status+"`") {
				t.Errorf("docs/errors.md does not name net/http's `%s`", tc.status)
			}
		})
	}
}
