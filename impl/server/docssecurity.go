package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// DocsSpecPath is the contract as the docs page reads it: the same document with the servers
// reordered, so that "Try it out" targets the instance serving the page first and the public
// gateway second. The published documents keep the contract's order.
const DocsSpecPath = DocsPath + "/openapi.json"

// docsSpec returns the contract (doc, as JSON) compacted, with relative server URLs (this
// instance) ahead of absolute ones, and the origins of the absolute ones (for the page's
// connect-src). Only the top-level servers array is rewritten; every other byte is doc's.
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
		slices.SortStableFunc(servers, func(a, b json.RawMessage) int {
			return boolRank(serverURL(a).IsAbs()) - boolRank(serverURL(b).IsAbs())
		})
		for _, s := range servers {
			if u := serverURL(s); u.IsAbs() {
				origins = append(origins, u.Scheme+"://"+u.Host)
			}
		}
		// Joined by hand: json.Marshal would escape HTML characters the contract writes plainly.
		reordered := []byte{'['}
		for i, s := range servers {
			if i > 0 {
				reordered = append(reordered, ',')
			}
			reordered = append(reordered, s...)
		}
		doc = slices.Concat(doc[:start], append(reordered, ']'), doc[end:])
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, nil, fmt.Errorf("docs spec: %w", err)
	}
	return buf.Bytes(), origins, nil
}

// topLevelMember finds the value of member name of the JSON object doc and returns where its
// bytes start and end; start == end when doc has no such member.
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

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// serverURL is the url of one entry of servers.
func serverURL(server json.RawMessage) *url.URL {
	var s struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(server, &s) == nil {
		if u, err := url.Parse(s.URL); err == nil {
			return u
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
