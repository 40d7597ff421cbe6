package main

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
)

// TestNotModifiedIsWhatTheDocsSay binds docs/customerctl.md to a 304: exit 7, nothing on
// stdout, and on stderr the line the docs quote (with the ETag for "…").
func TestNotModifiedIsWhatTheDocsSay(t *testing.T) {
	doc := docText(t, "customerctl.md")
	e := apitest.MustStart(t)
	e.MustImport(t, tenant, "org-retail", demoCustomers(t)...)
	env := credentials(t, e, tenant)
	file := t.TempDir() + "/etag"
	if r := runCtl(t, env, "customers", "--organization", "org-retail", "--etag-file", file); r.code != exitOK {
		t.Fatalf("first: exit %d, stderr %q", r.code, r.stderr)
	}
	r := runCtl(t, env, "customers", "--organization", "org-retail", "--etag-file", file)
	if r.code != exitNotModified || r.stdout != "" {
		t.Fatalf("unchanged: exit %d, stdout %q", r.code, r.stdout)
	}
	said := regexp.MustCompile(`"[^"]*"`).ReplaceAllString(strings.TrimSuffix(r.stderr, "\n"), `"…"`)
	if said != `customerctl: not modified since "…"` {
		t.Errorf("stderr %q", r.stderr)
	}
	for _, row := range []string{"| `--etag-file` |", "| 7 |"} {
		line := lineWith(string(doc), row)
		if !strings.Contains(line, "`"+said+"`") || !strings.Contains(line, "7") {
			t.Errorf("docs/customerctl.md's row %s does not quote what a 304 prints (%s):\n%s", row, said, line)
		}
	}
}

// TestAGeneratedClientSeesA304AsDocumented binds docs/contract.md's account of a 304 in an
// oapi-codegen client: StatusCode() is 304, JSON200 nil, the body empty, the ETag in the headers.
func TestAGeneratedClientSeesA304AsDocumented(t *testing.T) {
	t.Parallel()
	doc := docText(t, "contract.md")
	for _, claim := range []string{"`StatusCode()` is 304", "`JSON200` (and every other\ntyped field) is nil", "`Body` is empty", "`HTTPResponse.Header`", `gen.NewClientWithResponses("http://127.0.0.1:8080/customer/1.0.0")`} {
		if !strings.Contains(string(doc), claim) {
			t.Errorf("docs/contract.md no longer says %q", claim)
		}
	}
	e := apitest.MustStart(t)
	e.MustImport(t, tenant, "org-retail", demoCustomers(t)...)
	h := e.Headers(t, tenant)
	client, err := gen.NewClientWithResponses(e.URL, gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", h["Authorization"])
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	params := &gen.GetOrganizationCustomersParams{Token: h["token"], TenantId: tenant}
	first, err := client.GetOrganizationCustomersWithResponse(t.Context(), "org-retail", params)
	if err != nil || first.JSON200 == nil {
		t.Fatalf("first: %v, status %d", err, first.StatusCode())
	}
	etag := first.HTTPResponse.Header.Get("ETag")
	params.IfNoneMatch = &etag
	again, err := client.GetOrganizationCustomersWithResponse(t.Context(), "org-retail", params)
	if err != nil {
		t.Fatal(err)
	}
	if again.StatusCode() != http.StatusNotModified || again.JSON200 != nil || len(again.Body) != 0 || again.HTTPResponse.Header.Get("ETag") != etag {
		t.Errorf("304: status %d, JSON200 %v, body %q, ETag %q (want %q)", again.StatusCode(), again.JSON200 != nil, again.Body, again.HTTPResponse.Header.Get("ETag"), etag)
	}
}

// lineWith returns the first line of doc that contains s.
func lineWith(doc, s string) string {
	for _, line := range strings.Split(doc, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// docText returns the text of docs/name.
func docText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/" + name)
	if err != nil {
		t.Fatalf("read the docs: %v", err)
	}
	return string(b)
}
