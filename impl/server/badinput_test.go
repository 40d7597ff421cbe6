package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/server"
)

// badRequest is one malformed request, written on the wire by hand so that nothing a client
// library would refuse or repair is out of reach.
type badRequest struct {
	name    string
	method  string            // default GET
	target  string            // path after the base path; default the customers of org-1
	set     map[string]string // headers to set (replacing the valid defaults)
	drop    []string          // default headers to leave out
	add     [][2]string       // headers sent in addition (duplicates)
	body    string
	chunked bool
	want    int
}

// wire renders the request as HTTP/1.1 bytes, on top of valid credential headers.
func (b badRequest) wire(host string, valid map[string]string) []byte {
	method, target := b.method, b.target
	if method == "" {
		method = http.MethodGet
	}
	if target == "" {
		target = "/organization/getCustomers/org-1"
	}
	headers := make(map[string]string, len(valid))
	for k, v := range valid {
		headers[k] = v
	}
	for _, k := range b.drop {
		delete(headers, k)
	}
	for k, v := range b.set {
		headers[k] = v
	}
	var w bytes.Buffer
	fmt.Fprintf(&w, "%s %s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, "/customer/1.0.0", target, host)
	for k, v := range headers {
		fmt.Fprintf(&w, "%s: %s\r\n", k, v)
	}
	for _, kv := range b.add {
		fmt.Fprintf(&w, "%s: %s\r\n", kv[0], kv[1])
	}
	switch {
	case b.chunked:
		fmt.Fprintf(&w, "Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(b.body), b.body)
	case b.body != "":
		fmt.Fprintf(&w, "Content-Length: %d\r\n\r\n%s", len(b.body), b.body)
	default:
		w.WriteString("\r\n")
	}
	return w.Bytes()
}

// sendRaw writes raw on a new connection and reads the response.
func sendRaw(t *testing.T, addr string, raw []byte) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response (dropped connection?): %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

func badRequests() []badRequest {
	long := strings.Repeat("a", 10_000)
	return []badRequest{
		// Headers: missing, empty, duplicated, oversized, malformed.
		{name: "no tenantId", drop: []string{"tenantId"}, want: 400},
		{name: "no token", drop: []string{"token"}, want: 400},
		{name: "no Authorization", drop: []string{"Authorization"}, want: 401},
		{name: "no credentials at all", drop: []string{"Authorization", "token", "tenantId"}, want: 401},
		{name: "empty tenantId", set: map[string]string{"tenantId": ""}, want: 400},
		{name: "empty token", set: map[string]string{"token": ""}, want: 400},
		{name: "empty Authorization", set: map[string]string{"Authorization": ""}, want: 401},
		{name: "Bearer without a token", set: map[string]string{"Authorization": "Bearer "}, want: 401},
		{name: "Bearer token with a space", set: map[string]string{"Authorization": "Bearer a b"}, want: 401},
		{name: "Bearer token of 20 000 characters", set: map[string]string{"Authorization": "Bearer " + long + long}, want: 401},
		{name: "Basic instead of Bearer", set: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, want: 401},
		{name: "duplicated tenantId", add: [][2]string{{"tenantId", "tenant-b"}}, want: 400},
		{name: "duplicated token", add: [][2]string{{"token", "other"}}, want: 400},
		{name: "duplicated Authorization", add: [][2]string{{"Authorization", "Bearer other"}}, want: 400},
		{name: "10 000-character tenantId", set: map[string]string{"tenantId": long}, want: 400},
		{name: "10 000-character token", set: map[string]string{"token": long}, want: 400},
		{name: "tenantId with a space", set: map[string]string{"tenantId": "tenant a"}, want: 400},
		{name: "tenantId with SQL", set: map[string]string{"tenantId": "x' OR '1'='1"}, want: 400},
		{name: "tenantId with JSON", set: map[string]string{"tenantId": `{"$ne":null}`}, want: 400},
		{name: "tenantId with invalid UTF-8", set: map[string]string{"tenantId": "tenant-\xff\xfe"}, want: 400},
		{name: "token with non-ASCII", set: map[string]string{"token": "tökén"}, want: 400},
		{name: "token with a space", set: map[string]string{"token": "a b"}, want: 400},

		// organizationId.
		{name: "organizationId with NUL", target: "/organization/getCustomers/org%00", want: 400},
		{name: "organizationId ..%2F", target: "/organization/getCustomers/..%2F", want: 400},
		{name: "organizationId path traversal", target: "/organization/getCustomers/..%2F..%2Fetc%2Fpasswd", want: 400},
		{name: "organizationId of 10 000 characters", target: "/organization/getCustomers/" + long, want: 400},
		{name: "organizationId with invalid UTF-8", target: "/organization/getCustomers/%ff%fe", want: 400},
		{name: "organizationId with SQL", target: "/organization/getCustomers/x'%3B%20DROP%20TABLE%20customers%3B--", want: 400},
		{name: "organizationId with JSON", target: "/organization/getCustomers/%7B%22%24gt%22%3A%22%22%7D", want: 400},
		{name: "organizationId with a slash", target: "/organization/getCustomers/a%2Fb", want: 400},
		{name: "organizationId with non-ASCII", target: "/organization/getCustomers/org-%C3%BC", want: 400},
		{name: "organizationId with a space", target: "/organization/getCustomers/org%201", want: 400},
		{name: "organizationId with a quote", target: "/organization/getCustomers/org%22", want: 400},
		{name: "organizationId .. is only unknown", target: "/organization/getCustomers/%2e%2e", want: 404},
		{name: "organizationId missing", target: "/organization/getCustomers/", want: 404},
		{name: "unknown path under the API", target: "/organization/getCustomers", want: 404},

		// Methods.
		{name: "POST", method: http.MethodPost, want: 405},
		{name: "PUT", method: http.MethodPut, want: 405},
		{name: "PATCH", method: http.MethodPatch, want: 405},
		{name: "DELETE", method: http.MethodDelete, want: 405},
		{name: "OPTIONS", method: http.MethodOptions, want: 405},
		{name: "TRACE", method: http.MethodTrace, want: 405},
		{name: "HEAD", method: http.MethodHead, want: 405},
		{name: "made-up method", method: "FROB", want: 405},

		// Accept and Content-Type.
		{name: "Accept text/html", set: map[string]string{"Accept": "text/html"}, want: 406},
		{name: "Accept application/xml", set: map[string]string{"Accept": "application/xml"}, want: 406},
		{name: "Accept JSON with q=0", set: map[string]string{"Accept": "application/json;q=0"}, want: 406},
		{name: "Accept garbage", set: map[string]string{"Accept": "@@@"}, want: 406},
		{name: "Content-Type without a body", set: map[string]string{"Content-Type": "application/json"}, want: 400},
		{name: "malformed Content-Type", set: map[string]string{"Content-Type": `text/plain; charset="`}, want: 400},

		// A body on GET.
		{name: "JSON body on GET", body: `{"organizationId":"org-2"}`, set: map[string]string{"Content-Type": "application/json"}, want: 400},
		{name: "body without Content-Type", body: "hello", want: 400},
		{name: "chunked body on GET", body: "hello", chunked: true, want: 400},
	}
}

// TestBadInputGetsAProblemNeverA5xx sends every malformed request on the wire and checks that
// each answer is the expected 4xx with problem details that validate against the contract, and
// that the service answers a valid request afterwards.
func TestBadInputGetsAProblemNeverA5xx(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1")
	router := apitest.MustRouter(t, env.Contract)
	cases := badRequests()
	if len(cases) < 40 {
		t.Fatalf("only %d malformed requests; the contract promises at least 40", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.wire(env.Addr, env.Headers(t, tenant))
			resp, body := sendRaw(t, env.Addr, raw)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("Content-Type %q, want %s", ct, problem.ContentType)
			}
			if tc.method != http.MethodHead {
				req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
				if err != nil {
					t.Fatalf("re-read own request: %v", err)
				}
				if err := apitest.ValidateResponse(router, req, resp.StatusCode, resp.Header, body); err != nil {
					t.Errorf("answer breaks the contract: %v\n%s", err, body)
				}
			}
			if strings.Contains(string(body), "DROP TABLE") || strings.Contains(string(body), "tökén") || strings.Contains(string(body), "$ne") {
				t.Errorf("the problem repeats the value sent: %s", body)
			}
		})
	}

	resp := getCustomers(t, env, tenant, "org-1")
	if resp.StatusCode() != http.StatusOK {
		t.Fatalf("after the bad requests a valid one answers %d", resp.StatusCode())
	}
}

// TestOversizedHeadersAre4xx checks that headers beyond the server's limit get a 4xx, not a 5xx
// or a dropped connection. net/http answers these itself, before the service sees them, so the
// body is its plain text rather than problem details.
func TestOversizedHeadersAre4xx(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1")
	// net/http reads 4 KiB beyond MaxHeaderBytes before it refuses.
	huge := strings.Repeat("a", server.MaxHeaderBytes+8<<10)
	for _, tc := range []badRequest{
		{name: "huge Authorization", set: map[string]string{"Authorization": "Bearer " + huge}},
		{name: "huge unknown header", set: map[string]string{"X-Padding": huge}},
		{name: "huge URL", target: "/organization/getCustomers/" + huge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := sendRaw(t, env.Addr, tc.wire(env.Addr, env.Headers(t, tenant)))
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Fatalf("status %d, want a 4xx", resp.StatusCode)
			}
		})
	}
	if resp := getCustomers(t, env, tenant, "org-1"); resp.StatusCode() != http.StatusOK {
		t.Fatalf("after oversized requests a valid one answers %d", resp.StatusCode())
	}
}
