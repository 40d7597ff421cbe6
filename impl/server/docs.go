package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5/static"
	"github.com/swaggest/swgui/v5emb"

	customerapi "github.com/cyrexa/customer-api"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/problem"
)

// Where the published contract and its docs page live: beside the API group, outside its chain.
const (
	SpecYAMLPath = contract.BasePath + "/openapi.yaml"
	SpecJSONPath = contract.BasePath + "/openapi.json"
	DocsPath     = contract.BasePath + "/docs"
)

// specCacheControl keeps the contract five minutes, then revalidates it (304 while unchanged).
const specCacheControl = "public, max-age=300"

// registerDocs adds the published contract (openapi.yaml and openapi.json byte for byte) and
// the docs page to the site group.
func registerDocs(site *echo.Group) error {
	site.Any(SpecYAMLPath, readOnly(serveDocument(customerapi.OpenAPIYAML, "application/yaml")))
	site.Any(SpecJSONPath, readOnly(serveDocument(customerapi.OpenAPIJSON, "application/json")))

	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "Cyrexa Customer API",
		SwaggerJSON: DocsSpecPath,
		BasePath:    DocsPath + "/",
		// Show the schemas (Customer and the rest) below the operations, which swgui hides by
		// default, and each operation's id, the name partners' generated clients use.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "1", "displayOperationId": "true"},
	})
	entries, _ := fs.ReadDir(static.FS, ".") // an embed.FS lists its root without fail
	assets := map[string]bool{}              // swgui's assets, stored gzipped, by their served names
	for _, e := range entries {
		assets[strings.TrimSuffix(e.Name(), ".gz")] = true
	}
	specForDocs, apiOrigins, err := docsSpec(customerapi.OpenAPIJSON)
	if err != nil {
		return err
	}
	policy, err := docsPolicy(ui, DocsPath, apiOrigins)
	if err != nil {
		return err
	}
	site.Any(DocsSpecPath, readOnly(serveDocument(specForDocs, "application/json")))
	docs := func(c echo.Context) error {
		name := strings.TrimPrefix(strings.TrimPrefix(c.Request().URL.Path, DocsPath), "/")
		if name != "" && !assets[name] {
			return problem.New(problem.NotFound, "No such file of the docs page.")
		}
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", specCacheControl) // the assets change only with the binary
		if name == "" {
			h.Set("Cache-Control", "no-cache") // the tiny page is always revalidated
		}
		ui.ServeHTTP(c.Response(), c.Request())
		return nil
	}
	for _, path := range []string{DocsPath, DocsPath + "/", DocsPath + "/*"} {
		site.Any(path, readOnly(docs))
	}
	return nil
}

// readOnly answers 405 to any method but GET and HEAD (rather than the API group's 404).
func readOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
			return &contract.MethodNotAllowedError{Allow: "GET, HEAD"}
		}
		return next(c)
	}
}

// serveDocument answers with body, fixed at start-up, or 304 for its strong ETag (of its bytes
// alone: the same on every instance); the zero time keeps Last-Modified out.
func serveDocument(body []byte, contentType string) echo.HandlerFunc {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Type", contentType)
		h.Set("ETag", etag)
		h.Set("Cache-Control", specCacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(body))
		return nil
	}
}

// DocsSpecPath is the contract as the docs page reads it: "Try it out" targets this instance
// first, the public gateway second.
const DocsSpecPath = DocsPath + "/openapi.json"

// docsSpec returns doc compacted with relative servers first, and the absolute servers' origins
// (for connect-src). Only the top-level servers array is rewritten.
func docsSpec(doc []byte) ([]byte, []string, error) {
	start, end, err := topLevelMember(doc, "servers")
	if err != nil {
		return nil, nil, fmt.Errorf("docs spec: %w", err)
	}
	var origins []string
	if start < end {
		var servers []json.RawMessage
		if err := json.Unmarshal(doc[start:end], &servers); err != nil {
			return nil, nil, fmt.Errorf("docs spec: servers: %w", err)
		}
		var relative, absolute [][]byte
		for _, s := range servers {
			var server struct {
				URL string `json:"url"`
			}
			_ = json.Unmarshal(s, &server) // else no URL: relative
			if u, err := url.Parse(server.URL); err == nil && u.IsAbs() {
				absolute = append(absolute, s)
				origins = append(origins, u.Scheme+"://"+u.Host)
			} else {
				relative = append(relative, s)
			}
		}
		// Joined by hand: json.Marshal would escape HTML characters the contract writes plainly.
		joined := bytes.Join(append(relative, absolute...), []byte{','})
		doc = slices.Concat(doc[:start], []byte{'['}, joined, []byte{']'}, doc[end:])
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, nil, fmt.Errorf("docs spec: %w", err)
	}
	return buf.Bytes(), origins, nil
}

// topLevelMember returns where the value of doc's member name starts and ends (equal: none).
func topLevelMember(doc []byte, name string) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, 0, fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return 0, 0, err
		}
		if key == name {
			// RawMessage holds the value's bytes exactly, and the decoder stands right after them.
			end := int(dec.InputOffset())
			return end - len(value), end, nil
		}
	}
	return 0, 0, nil
}

// inlineBlocks finds the page's inline <script> and <style> elements.
var inlineBlocks = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

// docsPolicy renders the page once and returns the Content-Security-Policy it satisfies: its
// own assets, its inline scripts by SHA-256, requests to this instance and apiOrigins, no framing.
func docsPolicy(page http.Handler, pagePath string, apiOrigins []string) (string, error) {
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pagePath, nil))
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("render the docs page: status %d", rec.Code)
	}
	scripts := []string{"'self'"}
	for _, m := range inlineBlocks.FindAllStringSubmatch(rec.Body.String(), -1) {
		if m[1] == "script" {
			sum := sha256.Sum256([]byte(m[2]))
			scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(scripts, " "),
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src " + strings.Join(append([]string{"'self'"}, apiOrigins...), " "),
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; "), nil
}
