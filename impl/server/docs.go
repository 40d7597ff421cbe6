package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
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

// Where the published contract and its docs page live. They are not operations of the contract,
// so they sit beside the API group, outside its middleware (no-store, content negotiation,
// request and response validation).
const (
	SpecYAMLPath = contract.BasePath + "/openapi.yaml"
	SpecJSONPath = contract.BasePath + "/openapi.json"
	DocsPath     = contract.BasePath + "/docs"
)

// specCacheControl lets clients and shared caches keep the contract for five minutes; after that
// they revalidate with If-None-Match and get a 304 while the bytes are unchanged.
const specCacheControl = "public, max-age=300"

// publishedDocument is one representation of the contract as served: its bytes, media type and
// strong ETag, all fixed at start-up.
type publishedDocument struct {
	Body        []byte
	ContentType string
	ETag        string
}

// publishedSpec returns the contract as YAML and as JSON, the embedded bytes of openapi.yaml and
// openapi.json exactly as committed.
func publishedSpec() (yamlDoc, jsonDoc publishedDocument) {
	y, j := customerapi.OpenAPIYAML, customerapi.OpenAPIJSON
	return publishedDocument{Body: y, ContentType: "application/yaml", ETag: etag(y)},
		publishedDocument{Body: j, ContentType: "application/json", ETag: etag(j)}
}

// etag is a strong entity tag derived from the bytes alone, so every instance of a release
// answers the same tag.
func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
}

// registerDocs adds the published contract and the docs page to the site group, outside the API group.
func registerDocs(site *echo.Group) error {
	yamlDoc, jsonDoc := publishedSpec()
	for path, doc := range map[string]publishedDocument{SpecYAMLPath: yamlDoc, SpecJSONPath: jsonDoc} {
		site.Any(path, readOnly(serveDocument(doc)))
	}

	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "Cyrexa Customer API",
		SwaggerJSON: DocsSpecPath,
		BasePath:    DocsPath + "/",
		// Show the schemas (Customer and the rest) below the operations, which swgui hides by
		// default, and each operation's id, the name partners' generated clients use.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "1", "displayOperationId": "true"},
	})
	assets, err := assetNames()
	if err != nil {
		return err
	}
	specForDocs, apiOrigins, err := docsSpec(customerapi.OpenAPIJSON)
	if err != nil {
		return err
	}
	policy, err := docsPolicy(ui, DocsPath, apiOrigins)
	if err != nil {
		return err
	}
	site.Any(DocsSpecPath, readOnly(serveDocument(publishedDocument{Body: specForDocs, ContentType: "application/json", ETag: etag(specForDocs)})))
	docs := func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, DocsPath)
		name = strings.TrimPrefix(name, "/")
		if name != "" && !assets[name] {
			return problem.New(problem.NotFound, "No such file of the docs page.")
		}
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", policy)
		h.Set("X-Frame-Options", "DENY")
		if name == "" {
			// The page is tiny: revalidate it always. The assets change only with the binary and
			// may be kept as long as the spec.
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Cache-Control", specCacheControl)
		}
		ui.ServeHTTP(c.Response(), c.Request())
		return nil
	}
	for _, path := range []string{DocsPath, DocsPath + "/", DocsPath + "/*"} {
		site.Any(path, readOnly(docs))
	}
	return nil
}

// readOnly answers 405 with problem details to any method but GET and HEAD. The routes are
// registered for every method so that a POST meets this rather than the API group's 404.
func readOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead:
			return next(c)
		}
		return &problem.Error{
			Kind:   problem.MethodNotAllowed,
			Detail: "This resource answers GET, HEAD only.",
			Header: http.Header{"Allow": {"GET, HEAD"}},
		}
	}
}

// assetNames lists the files the docs page may load: swgui's embedded Swagger UI assets, stored
// gzipped and served under their plain names.
func assetNames() (map[string]bool, error) {
	entries, err := fs.ReadDir(static.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("list docs assets: %w", err)
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[strings.TrimSuffix(e.Name(), ".gz")] = true
	}
	return names, nil
}

// serveDocument answers with doc, or 304 when If-None-Match holds its ETag. http.ServeContent
// does the conditional and HEAD handling; the zero modification time keeps Last-Modified out.
func serveDocument(doc publishedDocument) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Type", doc.ContentType)
		h.Set("ETag", doc.ETag)
		h.Set("Cache-Control", specCacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(c.Response(), c.Request(), "", time.Time{}, bytes.NewReader(doc.Body))
		return nil
	}
}
