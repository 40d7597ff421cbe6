package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DocsSpecPath is the contract as the docs page reads it: the same document with the servers
// reordered, so that "Try it out" targets the instance serving the page first and the public
// gateway second. The published documents keep the contract's order.
const DocsSpecPath = DocsPath + "/openapi.json"

// docsSpec returns the contract as JSON with relative server URLs (this instance) ahead of
// absolute ones, and the origins of the absolute ones (for the page's connect-src).
func docsSpec(raw []byte) ([]byte, []string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, nil, fmt.Errorf("docs spec: %w", err)
	}
	var origins []string
	if doc := root.Content[0]; doc.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value != "servers" || doc.Content[i+1].Kind != yaml.SequenceNode {
				continue
			}
			servers := doc.Content[i+1].Content
			slices.SortStableFunc(servers, func(a, b *yaml.Node) int {
				return boolRank(serverURL(a).IsAbs()) - boolRank(serverURL(b).IsAbs())
			})
			for _, s := range servers {
				if u := serverURL(s); u.IsAbs() {
					origins = append(origins, u.Scheme+"://"+u.Host)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root); err != nil {
		return nil, nil, fmt.Errorf("docs spec: %w", err)
	}
	return buf.Bytes(), origins, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// serverURL is the url of one entry of servers.
func serverURL(server *yaml.Node) *url.URL {
	for i := 0; i+1 < len(server.Content); i += 2 {
		if server.Content[i].Value == "url" {
			if u, err := url.Parse(server.Content[i+1].Value); err == nil {
				return u
			}
		}
	}
	return &url.URL{}
}

// inlineBlocks finds the page's inline <script> and <style> elements (those without attributes).
var inlineBlocks = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

// docsPolicy renders the docs page once and returns the Content-Security-Policy it satisfies:
// its own assets only, its inline scripts by their SHA-256, images also as data: URIs (Swagger
// UI's icons), inline styles (Swagger UI writes some), requests to this instance and to
// apiOrigins ("Try it out"), and no framing at all.
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
