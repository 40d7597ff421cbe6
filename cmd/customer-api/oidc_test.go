package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/auth"
)

// TestServeWithAnOpenIDConnectIssuer configures serve the way production does, with
// --oidc-issuer: it discovers the issuer's JWKS, verifies a token the issuer signed, and answers
// with the tenant's customers.
func TestServeWithAnOpenIDConnectIssuer(t *testing.T) {
	key := apitest.MustEd25519Key(t, "oidc-key-1")
	var issuerURL string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuerURL, "jwks_uri": issuerURL + "/keys"})
		case "/keys":
			jwks, _ := auth.PublicJWKS(key)
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	defer idp.Close()
	issuerURL = idp.URL

	dir := t.TempDir()
	if _, _, err := runCmd(t, `[{"customer":{"id":"cus-1","customerName":"Ada"}}]`,
		"import", "--data-dir", dir, "--tenant", "tenant-a", "--organization", "org-a", "-"); err != nil {
		t.Fatal(err)
	}
	apiToken, _, err := runCmd(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "tenant-a")
	if err != nil {
		t.Fatal(err)
	}

	s := startServe(t, listeningLine, "--addr", "127.0.0.1:0", "--metrics-addr", "off", "--data-dir", dir,
		"--oidc-issuer", issuerURL, "--jwt-audience", "customer-api")
	base := s.base + "/customer/1.0.0"

	token, err := auth.Sign(key, map[string]any{
		"iss": issuerURL, "aud": "customer-api", "sub": "billing-service", "tenant_id": "tenant-a",
		"scope": "customers:read", "exp": time.Now().Add(time.Minute).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bearer string
		want   int
	}{
		{token, http.StatusOK},
		{token[:strings.LastIndex(token, ".")+1] + "c2lnbmF0dXJl", http.StatusUnauthorized}, // signature replaced
	} {
		req, _ := http.NewRequest(http.MethodGet, base+"/organization/getCustomers/org-a", nil)
		req.Header.Set("Authorization", "Bearer "+tc.bearer)
		req.Header.Set("token", strings.TrimSpace(apiToken))
		req.Header.Set("tenantId", "tenant-a")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
		}
		if tc.want == http.StatusOK && !strings.Contains(string(body), `"customerName":"Ada"`) {
			t.Fatalf("body %s", body)
		}
	}
}

// waitForLine reads stdout until a line matches re and returns the match; it keeps draining
// stdout afterwards, so the program never blocks on writing.
func waitForLine(t *testing.T, stdout io.Reader, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	lines := make(chan string)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the program's output ended before a line matched %s", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				go func() {
					for range lines {
					}
				}()
				return m
			}
		case <-deadline:
			t.Fatalf("no line matched %s within %s", re, timeout)
		}
	}
}
