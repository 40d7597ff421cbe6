package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/problem"
)

const tenant = "tenant-a"

// forEachBackend runs a black-box test against the service on SQLite and on PostgreSQL (which
// skips, with a note, when CUSTOMER_API_TEST_POSTGRES is unset).
func forEachBackend(t *testing.T, test func(t *testing.T, env *apitest.Env)) {
	t.Run("sqlite", func(t *testing.T) { test(t, apitest.MustStart(t)) })
	t.Run("postgres", func(t *testing.T) { test(t, mustStartPostgres(t)) })
}

// demoCustomers returns the demo dataset's customers of one organization: every field filled,
// write-only ones included. The dataset's password, PIN and answers are hashes already (kept as
// given on import); it has no two-factor codes, which the importer drops, so they are planted
// here for the tests that check no write-only value comes back.
func demoCustomers(t *testing.T, organizationID string) []gen.Customer {
	t.Helper()
	for _, org := range apitest.DemoDataset() {
		if org.ID == organizationID {
			for i := range org.Customers {
				tfa := org.Customers[i].Twofa
				tfa.TargetCode, tfa.InputCode = new("482913"), new("482913")
				if !*tfa.Codematch {
					tfa.InputCode = new("482914")
				}
			}
			return org.Customers
		}
	}
	t.Fatalf("no demo organization %s", organizationID)
	return nil
}

func getCustomers(t *testing.T, env *apitest.Env, tenantID, organizationID string, editors ...gen.RequestEditorFn) *gen.GetOrganizationCustomersResponse {
	t.Helper()
	editors = append([]gen.RequestEditorFn{env.Bearer(t, tenantID)}, editors...)
	resp, err := env.Client.GetOrganizationCustomersWithResponse(context.Background(), organizationID, env.Params(t, tenantID), editors...)
	if err != nil {
		t.Fatalf("GET customers of %s: %v", organizationID, err)
	}
	return resp
}

func TestImportedCustomersComeBackFieldForFieldWithoutSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		in := demoCustomers(t, demo.RetailOrganizationID)
		env.MustImport(t, tenant, "org-1", in...)

		resp := getCustomers(t, env, tenant, "org-1")
		if resp.StatusCode() != http.StatusOK || resp.JSON200 == nil {
			t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
		}
		if ct := resp.HTTPResponse.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		if cc := resp.HTTPResponse.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}

		// What must come back, derived from the contract rather than the code under test: each
		// imported customer as JSON, less every value at a path the contract marks writeOnly.
		sort.Slice(in, func(i, j int) bool { return *in[i].Id < *in[j].Id })
		want := asJSON(t, in)
		for _, c := range want.([]any) {
			for _, p := range apitest.WriteOnly(env.Contract) {
				deleteAt(c, p)
			}
		}
		var got []any
		for _, e := range *resp.JSON200 {
			got = append(got, asJSON(t, e.Customer))
		}
		if !reflect.DeepEqual(got, want) {
			gotJSON, _ := json.MarshalIndent(got, "", " ")
			wantJSON, _ := json.MarshalIndent(want, "", " ")
			t.Fatalf("customers differ\n got: %.2000s\nwant: %.2000s", gotJSON, wantJSON)
		}
		for _, secret := range writeOnlyNames(env.Contract) {
			if strings.Contains(string(resp.Body), secret) {
				t.Errorf("response carries %s", secret)
			}
		}
	})
}

// writeOnlyNames returns the contract's write-only property names, quoted as in JSON.
func writeOnlyNames(c *contract.Contract) []string {
	var names []string
	for _, p := range apitest.WriteOnly(c) {
		names = append(names, `"`+p[len(p)-1]+`"`)
	}
	return names
}

// asJSON is v as encoding/json decodes its JSON into an any.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// deleteAt removes the values at path (apitest.Items standing for every array element) from a
// decoded JSON document.
func deleteAt(v any, path apitest.Path) {
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(x, path[0])
		} else if child, ok := x[path[0]]; ok {
			deleteAt(child, path[1:])
		}
	case []any:
		if path[0] == apitest.Items {
			for _, e := range x {
				deleteAt(e, path[1:])
			}
		}
	}
}

func TestCoordinatesSurviveARoundTripExactly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		lat, lon, alt := 48.2143712, 16.3725042, 171.53
		id := "cus-geo"
		env.MustImport(t, tenant, "org-geo", gen.Customer{Id: &id, Person: &gen.Person{Addresses: &[]gen.CustomerAddress{{
			Address: &gen.Address{GeoPosition: &gen.GeoPosition{Latitude: &lat, Longitude: &lon, Altitude: &alt}},
		}}}})

		resp := getCustomers(t, env, tenant, "org-geo")
		if !strings.Contains(string(resp.Body), `"latitude":48.2143712`) {
			t.Fatalf("latitude not returned exactly: %s", resp.Body)
		}
		geo := (*(*resp.JSON200)[0].Customer.Person.Addresses)[0].Address.GeoPosition
		if *geo.Latitude != lat || *geo.Longitude != lon || *geo.Altitude != alt {
			t.Errorf("geoPosition = %v,%v,%v; want %v,%v,%v", *geo.Latitude, *geo.Longitude, *geo.Altitude, lat, lon, alt)
		}
	})
}

func TestOrderIsStableAndByID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		var in []gen.Customer
		for _, id := range []string{"cus-3", "cus-10", "cus-1", "cus-2", "CUS-9", "cus_9", "cus.9"} {
			name := "Customer " + id
			in = append(in, gen.Customer{Id: &id, CustomerName: &name})
		}
		env.MustImport(t, tenant, "org-order", in...)

		first := getCustomers(t, env, tenant, "org-order")
		second := getCustomers(t, env, tenant, "org-order")
		if string(first.Body) != string(second.Body) {
			t.Fatalf("two reads differ:\n%s\n%s", first.Body, second.Body)
		}
		var ids []string
		for _, e := range *first.JSON200 {
			ids = append(ids, *e.Customer.Id)
		}
		// Byte order, whatever the database's collation: upper case before lower, '.' before digits.
		if want := []string{"CUS-9", "cus-1", "cus-10", "cus-2", "cus-3", "cus.9", "cus_9"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("order = %v, want %v", ids, want)
		}
	})
}

func TestEmptyOrganizationIsAnEmptyArray(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		env.MustImport(t, tenant, "org-empty")

		resp := getCustomers(t, env, tenant, "org-empty")
		if resp.StatusCode() != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "[]" {
			t.Fatalf("status %d, body %q; want 200 []", resp.StatusCode(), resp.Body)
		}
	})
}

func TestReimportChangesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		in := demoCustomers(t, demo.WholesaleOrganizationID)
		first := env.MustImport(t, tenant, "org-1", in...)
		before := getCustomers(t, env, tenant, "org-1").Body

		second := env.MustImport(t, tenant, "org-1", in...)
		if first.Created != len(in) || second.Created != 0 || second.Updated != 0 || second.Unchanged != len(in) {
			t.Fatalf("first import %+v, second %+v; want %d created, then %d unchanged", first, second, len(in), len(in))
		}
		if after := getCustomers(t, env, tenant, "org-1").Body; string(after) != string(before) {
			t.Errorf("customers changed by a re-import")
		}
	})
}

func TestOrganizationsAreScopedByTenant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *apitest.Env) {
		nameA, nameB, id := "Customer of A", "Customer of B", "cus-1"
		env.MustImport(t, "tenant-a", "org-shared", gen.Customer{Id: &id, CustomerName: &nameA})
		env.MustImport(t, "tenant-b", "org-shared", gen.Customer{Id: &id, CustomerName: &nameB})
		env.MustImport(t, "tenant-b", "org-only-b")

		for _, tc := range []struct{ tenant, want string }{{"tenant-a", nameA}, {"tenant-b", nameB}} {
			resp := getCustomers(t, env, tc.tenant, "org-shared")
			if resp.JSON200 == nil || len(*resp.JSON200) != 1 || *(*resp.JSON200)[0].Customer.CustomerName != tc.want {
				t.Errorf("%s sees %s, want only %q", tc.tenant, resp.Body, tc.want)
			}
		}
		other := getCustomers(t, env, "tenant-a", "org-only-b")
		unknown := getCustomers(t, env, "tenant-a", "org-nowhere")
		if other.StatusCode() != http.StatusNotFound || unknown.StatusCode() != http.StatusNotFound {
			t.Fatalf("another tenant's organization: %d, unknown: %d; want 404 both", other.StatusCode(), unknown.StatusCode())
		}
		if a, b := withoutRequestID(t, other.Body), withoutRequestID(t, unknown.Body); a != b {
			t.Errorf("another tenant's organization answers differently from an unknown one:\n%s\n%s", a, b)
		}
	})
}

// withoutRequestID returns a problem body with its per-request members removed.
func withoutRequestID(t *testing.T, body []byte) string {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	delete(p, "requestId")
	delete(p, "instance")
	out, _ := json.Marshal(p)
	return string(out)
}

func TestErrorsAreProblemDetails(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1")
	url := env.URL + "/organization/getCustomers/org-1"

	tests := []struct {
		name       string
		method     string
		url        string
		header     map[string]string
		drop       []string
		wantStatus int
		wantType   string
		wantParam  *gen.InvalidParam
		wantHeader map[string]string
	}{
		{name: "unknown organization", url: env.URL + "/organization/getCustomers/org-unknown",
			wantStatus: 404, wantType: problem.NotFound.TypeURI()},
		{name: "missing tenantId header", drop: []string{"tenantId"},
			wantStatus: 400, wantType: problem.InvalidRequest.TypeURI(),
			wantParam: &gen.InvalidParam{In: "header", Name: "tenantId", Reason: "is required but missing"}},
		{name: "missing token header", drop: []string{"token"},
			wantStatus: 400, wantType: problem.InvalidRequest.TypeURI(),
			wantParam: &gen.InvalidParam{In: "header", Name: "token", Reason: "is required but missing"}},
		{name: "organization id with a forbidden character", url: env.URL + "/organization/getCustomers/org%20one",
			wantStatus: 400, wantType: problem.InvalidRequest.TypeURI(),
			wantParam: &gen.InvalidParam{In: "path", Name: "organizationId", Reason: "must match the pattern ^[A-Za-z0-9._:-]+$"}},
		{name: "missing bearer", drop: []string{"Authorization"},
			wantStatus: 401, wantType: problem.Unauthorized.TypeURI(),
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="customer-api", error="invalid_token"`}},
		{name: "bearer of another scheme", header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"},
			wantStatus: 401, wantType: problem.Unauthorized.TypeURI()},
		{name: "Accept excludes JSON", header: map[string]string{"Accept": "text/html"},
			wantStatus: 406, wantType: problem.NotAcceptable.TypeURI()},
		{name: "wrong method", method: http.MethodPost,
			wantStatus: 405, wantType: problem.MethodNotAllowed.TypeURI(), wantHeader: map[string]string{"Allow": "GET"}},
		{name: "unknown route", url: env.URL + "/organization/nothing-here",
			wantStatus: 404, wantType: problem.NotFound.TypeURI()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, target := tc.method, tc.url
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = url
			}
			req, err := http.NewRequest(method, target, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range env.Headers(t, tenant) {
				req.Header.Set(k, v)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			for _, k := range tc.drop {
				req.Header.Del(k)
			}
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p gen.Problem
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode != tc.wantStatus || p.Status != tc.wantStatus || p.Type != tc.wantType {
				t.Fatalf("got %d %s (%+v); want %d %s", resp.StatusCode, p.Type, p, tc.wantStatus, tc.wantType)
			}
			if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type = %q", ct)
			}
			if id := resp.Header.Get("X-Request-Id"); id == "" || p.RequestId == nil || *p.RequestId != id {
				t.Errorf("X-Request-Id %q and requestId %v differ", id, p.RequestId)
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.wantParam != nil {
				if p.InvalidParams == nil || !containsParam(*p.InvalidParams, *tc.wantParam) {
					t.Errorf("invalidParams %+v lack %+v", p.InvalidParams, *tc.wantParam)
				}
			}
		})
	}
}

func containsParam(params []gen.InvalidParam, want gen.InvalidParam) bool {
	for _, p := range params {
		if p == want {
			return true
		}
	}
	return false
}

func TestRequestIDIsKeptWhenWellFormed(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1")
	for _, tc := range []struct{ sent, want string }{
		{"client-id-123", "client-id-123"},
		{"bad id with spaces", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/organization/getCustomers/org-1", nil)
		req.Header.Set("X-Request-Id", tc.sent)
		for k, v := range env.Headers(t, tenant) {
			req.Header.Set(k, v)
		}
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if tc.want != "" && got != tc.want || tc.want == "" && (got == "" || got == tc.sent) {
			t.Errorf("sent %q, got X-Request-Id %q", tc.sent, got)
		}
	}
}
