package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/importer"
	"github.com/cyrexa/customer-api/impl/problem"
)

// FuzzRequest drives the whole stack in-process with arbitrary organization ids and credential
// header values. Whatever arrives, the answer is a 200 or a 4xx with problem details, the service
// never panics, and no response breaks the contract.
func FuzzRequest(f *testing.F) {
	for _, seed := range [][4]string{
		{"org-1", tenant, "api-token", "Bearer access-token"},
		{"org\x00", "tenant-\xff", "tök\x7fén", "Bearer \x00"},
		{"../../etc/passwd", "' OR 1=1 --", `{"$ne":null}`, "Basic abc"},
		{"", "", "", ""},
		{"a/b?c#d", "t\r\nX-Injected: 1", "t", "bearer token=="},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}

	c := apitest.MustContract(f)
	st, _ := apitest.MustSQLite(f)
	if _, err := importer.Import(context.Background(), st, c, tenant, "org-1", strings.NewReader("[]"), importer.Options{}); err != nil {
		f.Fatal(err)
	}
	svc := apitest.MustService(f, c, st)
	handler, m := svc.Handler, svc.Metrics
	// Valid credentials as seeds too, so the fuzzer starts from requests that reach the store.
	apiToken, _, err := svc.Tokens.Issue(context.Background(), tenant, "fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	bearer := "Bearer " + svc.Issuer.MustToken(f, svc.Issuer.Claims(tenant))
	f.Add("org-1", tenant, apiToken, bearer)
	f.Add("org-unknown", tenant, apiToken, bearer)
	f.Add("org-1", "tenant-b", apiToken, bearer)

	f.Fuzz(func(t *testing.T, organizationID, tenantID, token, authorization string) {
		req, err := http.NewRequest(http.MethodGet, contract.BasePath+"/organization/getCustomers/"+url.PathEscape(organizationID), nil)
		if err != nil {
			t.Skip()
		}
		// Set the values raw: in-process, nothing in between refuses or repairs them.
		req.Header["Tenantid"] = []string{tenantID}
		req.Header["Token"] = []string{token}
		req.Header["Authorization"] = []string{authorization}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)

		switch {
		case rec.Code == http.StatusOK:
		case rec.Code >= 400 && rec.Code < 500:
			if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if n := testutil.CollectAndCount(m.ResponseValidationFailures); n > 0 {
			t.Fatalf("a response broke the contract (status %d): %s", rec.Code, rec.Body)
		}
	})
}
