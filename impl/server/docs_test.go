package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	customerapi "github.com/cyrexa/customer-api"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/server"
)

// fetch sends one request to the service (outside the generated client: these routes are not
// operations of the contract) and returns the response with its body read.
func fetch(t *testing.T, env *apitest.Env, method, path string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+env.Addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return resp, body
}

func committedSpec(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatalf("read the committed openapi.yaml: %v", err)
	}
	return raw
}

func TestPublishedContract(t *testing.T) {
	t.Parallel()
	env := apitest.MustStart(t)

	t.Run("the YAML is the committed file byte for byte", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodGet, server.SpecYAMLPath, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, body %.300s", resp.StatusCode, body)
		}
		if !bytes.Equal(body, committedSpec(t)) || !bytes.Equal(body, customerapi.OpenAPIYAML) {
			t.Fatalf("served %d bytes that differ from openapi.yaml (%d bytes)", len(body), len(committedSpec(t)))
		}
		assertSpecHeaders(t, resp, "application/yaml")
	})

	t.Run("the JSON is the same document and a valid contract", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodGet, server.SpecJSONPath, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, body %.300s", resp.StatusCode, body)
		}
		assertSpecHeaders(t, resp, "application/json")
		if !bytes.Equal(body, customerapi.OpenAPIJSON) {
			t.Fatalf("served %d bytes that differ from the embedded openapi.json (%d bytes)", len(body), len(customerapi.OpenAPIJSON))
		}
		// That it is the same document as openapi.yaml, keys in order, is TestOpenAPIJSON's to check.
		doc, err := openapi3.NewLoader().LoadFromData(body)
		if err != nil {
			t.Fatalf("kin-openapi cannot load openapi.json: %v", err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("openapi.json is not a valid contract: %v", err)
		}
	})

	for _, path := range []string{server.SpecYAMLPath, server.SpecJSONPath} {
		t.Run("a client holding the ETag of "+path+" gets 304", func(t *testing.T) {
			first, body := fetch(t, env, http.MethodGet, path, nil)
			tag := first.Header.Get("ETag")
			if !regexp.MustCompile(`^"[A-Za-z0-9_-]{43}"$`).MatchString(tag) {
				t.Fatalf("ETag = %q, want a quoted SHA-256 in base64url", tag)
			}
			for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
				resp, again := fetch(t, env, http.MethodGet, path, http.Header{"If-None-Match": {inm}})
				if resp.StatusCode != http.StatusNotModified || len(again) != 0 {
					t.Errorf("If-None-Match %s: status %d with %d bytes, want 304 without a body", inm, resp.StatusCode, len(again))
				}
				if resp.Header.Get("ETag") != tag || resp.Header.Get("Cache-Control") != "public, max-age=300" {
					t.Errorf("If-None-Match %s: 304 carries ETag %q and Cache-Control %q", inm, resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"))
				}
			}
			resp, again := fetch(t, env, http.MethodGet, path, http.Header{"If-None-Match": {`"stale"`}})
			if resp.StatusCode != http.StatusOK || !bytes.Equal(again, body) {
				t.Errorf("a stale ETag: status %d, want 200 with the document", resp.StatusCode)
			}
		})
	}

	t.Run("the two representations have different ETags, stable across instances", func(t *testing.T) {
		y, _ := fetch(t, env, http.MethodGet, server.SpecYAMLPath, nil)
		j, _ := fetch(t, env, http.MethodGet, server.SpecJSONPath, nil)
		if y.Header.Get("ETag") == j.Header.Get("ETag") {
			t.Error("YAML and JSON share an ETag")
		}
		other := apitest.MustStart(t)
		y2, _ := fetch(t, other, http.MethodGet, server.SpecYAMLPath, nil)
		if y2.Header.Get("ETag") != y.Header.Get("ETag") {
			t.Error("two instances answer different ETags for the same bytes")
		}
	})

	t.Run("HEAD answers the headers without the body", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodHead, server.SpecYAMLPath, nil)
		if resp.StatusCode != http.StatusOK || len(body) != 0 {
			t.Fatalf("status %d with %d bytes", resp.StatusCode, len(body))
		}
		if resp.ContentLength != int64(len(customerapi.OpenAPIYAML)) {
			t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(customerapi.OpenAPIYAML))
		}
	})
}

func assertSpecHeaders(t *testing.T, resp *http.Response, contentType string) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Type":           contentType,
		"Cache-Control":          "public, max-age=300",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if resp.Header.Get("ETag") == "" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("missing ETag or X-Request-Id: %v", resp.Header)
	}
}

// The API group answers every path under the base path (its catch-all runs its middleware), so
// these tests prove the published contract and the docs reach their own handlers, and that the
// group still owns the rest.
func TestDocsRoutesBypassTheAPIGroup(t *testing.T) {
	t.Parallel()
	env := apitest.MustStart(t)

	t.Run("an Accept the API would refuse with 406 still gets the spec", func(t *testing.T) {
		for _, path := range []string{server.SpecYAMLPath, server.SpecJSONPath, server.DocsPath} {
			resp, _ := fetch(t, env, http.MethodGet, path, http.Header{"Accept": {"text/html, application/yaml"}})
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200", path, resp.StatusCode)
			}
			if cc := resp.Header.Get("Cache-Control"); cc == "no-store" {
				t.Errorf("GET %s went through the API group (Cache-Control: no-store)", path)
			}
		}
	})

	t.Run("other paths under the base path still get the group's problem details", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodGet, "/customer/1.0.0/openapi.xml", nil)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != problem.ContentType {
			t.Fatalf("status %d, Content-Type %q, body %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("unknown path did not pass the API group's middleware")
		}
	})

	t.Run("the operation still works beside them", func(t *testing.T) {
		env.MustImport(t, tenant, "org-docs")
		resp := getCustomers(t, env, tenant, "org-docs")
		if resp.StatusCode() != http.StatusOK || string(bytes.TrimSpace(resp.Body)) != "[]" {
			t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
		}
	})

	t.Run("a write method on the spec is refused with problem details", func(t *testing.T) {
		for _, path := range []string{server.SpecYAMLPath, server.SpecJSONPath, server.DocsPath, server.DocsPath + "/swagger-ui.css"} {
			resp, body := fetch(t, env, http.MethodPost, path, nil)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != problem.ContentType {
				t.Fatalf("POST %s: status %d, Content-Type %q, body %.200s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if allow := resp.Header.Get("Allow"); allow != "GET, HEAD" {
				t.Errorf("POST %s: Allow = %q", path, allow)
			}
		}
	})
}

func TestDocsPage(t *testing.T) {
	t.Parallel()
	env := apitest.MustStart(t)

	for _, path := range []string{server.DocsPath, server.DocsPath + "/"} {
		t.Run("the page at "+path+" loads its assets from the service itself", func(t *testing.T) {
			resp, body := fetch(t, env, http.MethodGet, path, nil)
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			page := string(body)
			if !strings.Contains(page, `"swaggerJsonUrl":"`+server.DocsSpecPath+`"`) {
				t.Errorf("the page does not load %s", server.DocsSpecPath)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q, want DENY", got)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "connect-src 'self' https://gateway.cyrexa.com"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			// Every inline script of the page is allowed by its hash, and nothing else inline.
			for _, m := range regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1) {
				sum := sha256.Sum256([]byte(m[1]))
				if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
					t.Errorf("an inline script of the page is not in the policy")
				}
			}
			if strings.Contains(csp, "'unsafe-inline'") && strings.Contains(strings.Split(strings.Split(csp, "script-src")[1], ";")[0], "unsafe") {
				t.Errorf("scripts may run inline unchecked: %q", csp)
			}
			refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
			if len(refs) < 3 {
				t.Fatalf("found %d asset references in the page", len(refs))
			}
			for _, ref := range refs {
				url := ref[1]
				if !strings.HasPrefix(url, server.DocsPath+"/") {
					t.Errorf("asset %s is not served by the service (no CDN)", url)
					continue
				}
				asset, data := fetch(t, env, http.MethodGet, url, nil)
				if asset.StatusCode != http.StatusOK || len(data) == 0 {
					t.Errorf("asset %s: status %d, %d bytes", url, asset.StatusCode, len(data))
				}
			}
		})
	}

	t.Run("Try it out targets this instance first and the public gateway second", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodGet, server.DocsSpecPath, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var doc struct {
			Servers []struct {
				URL string `json:"url"`
			} `json:"servers"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Servers) != 2 || doc.Servers[0].URL != contract.BasePath || !strings.HasPrefix(doc.Servers[1].URL, "https://gateway.cyrexa.com/") {
			t.Errorf("servers of the docs page: %+v", doc.Servers)
		}
	})

	t.Run("the bundle is JavaScript", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodGet, server.DocsPath+"/swagger-ui-bundle.js", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || len(body) < 100_000 {
			t.Fatalf("status %d, Content-Type %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	})

	t.Run("an unknown file under the docs is a 404 problem", func(t *testing.T) {
		resp, body := fetch(t, env, http.MethodGet, server.DocsPath+"/secrets.txt", nil)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != problem.ContentType {
			t.Fatalf("status %d, Content-Type %q, body %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
}
