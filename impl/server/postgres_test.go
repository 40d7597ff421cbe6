package server_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/store/postgres"
	"github.com/cyrexa/customer-api/impl/store/postgres/pgtest"
)

// mustStartPostgres starts the service on a PostgreSQL database of its own; it skips the test
// when CUSTOMER_API_TEST_POSTGRES is unset.
func mustStartPostgres(t *testing.T) *apitest.Env {
	t.Helper()
	d := pgtest.New(t)
	st, err := postgres.Open(t.Context(), d.URL, postgres.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return apitest.MustStartWith(t, apitest.MustContract(t), st)
}

// TestAPIOnPostgres runs the black-box checks that depend on the store against PostgreSQL:
// what SQLite passes in server_test.go, PostgreSQL must pass the same way.
func TestAPIOnPostgres(t *testing.T) {
	pgtest.ServerURL(t)
	t.Parallel()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, env *apitest.Env)
	}{
		{"imported customers come back field for field without secrets", pgFieldForField},
		{"organizations are scoped by tenant", pgTenantScope},
		{"an empty organization is an empty array", pgEmptyOrganization},
		{"an unknown organization is 404 problem details", pgUnknownOrganization},
		{"customers come ordered by id and coordinates exactly", pgOrderAndCoordinates},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, mustStartPostgres(t))
		})
	}
}

func pgFieldForField(t *testing.T, env *apitest.Env) {
	in := demoCustomers(t, demo.RetailOrganizationID)
	env.MustImport(t, tenant, "org-1", in...)
	resp := getCustomers(t, env, tenant, "org-1")
	if resp.StatusCode() != http.StatusOK || resp.JSON200 == nil {
		t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
	}
	want := make([]gen.Customer, len(in))
	for i, c := range in {
		want[i] = customer.StripWriteOnly(c)
	}
	sort.Slice(want, func(i, j int) bool { return *want[i].Id < *want[j].Id })
	got := make([]gen.Customer, len(*resp.JSON200))
	for i, e := range *resp.JSON200 {
		got[i] = *e.Customer
	}
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("customers differ\n got: %.2000s\nwant: %.2000s", gotJSON, wantJSON)
	}
	for _, secret := range []string{`"password"`, `"pinCode"`, `"answer"`, `"targetCode"`, `"inputCode"`} {
		if strings.Contains(string(resp.Body), secret) {
			t.Errorf("response carries %s", secret)
		}
	}
}

func pgTenantScope(t *testing.T, env *apitest.Env) {
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
}

func pgEmptyOrganization(t *testing.T, env *apitest.Env) {
	env.MustImport(t, tenant, "org-empty")
	resp := getCustomers(t, env, tenant, "org-empty")
	if resp.StatusCode() != http.StatusOK || strings.TrimSpace(string(resp.Body)) != "[]" {
		t.Fatalf("status %d, body %q; want 200 []", resp.StatusCode(), resp.Body)
	}
}

func pgUnknownOrganization(t *testing.T, env *apitest.Env) {
	a := get(t, env, env.URL+"/organization/getCustomers/org-unknown")
	if a.status != http.StatusNotFound || a.problem.Status != http.StatusNotFound || a.problem.Detail == nil ||
		*a.problem.Detail != "No organization with this id exists for the tenant." {
		t.Fatalf("unknown organization: %d %s; want 404 problem details", a.status, a.body)
	}
}

func pgOrderAndCoordinates(t *testing.T, env *apitest.Env) {
	lat, lon, alt := 48.2143712, 16.3725042, 171.53
	var in []gen.Customer
	for _, id := range []string{"cus-3", "cus-10", "cus-1", "cus-2", "CUS-9", "cus_9", "cus.9"} {
		c := gen.Customer{Id: new(id), Person: &gen.Person{Addresses: &[]gen.CustomerAddress{{
			Address: &gen.Address{GeoPosition: &gen.GeoPosition{Latitude: &lat, Longitude: &lon, Altitude: &alt}},
		}}}}
		in = append(in, c)
	}
	env.MustImport(t, tenant, "org-order", in...)
	resp := getCustomers(t, env, tenant, "org-order")
	if resp.JSON200 == nil {
		t.Fatalf("status %d, body %s", resp.StatusCode(), resp.Body)
	}
	var ids []string
	for _, e := range *resp.JSON200 {
		ids = append(ids, *e.Customer.Id)
		geo := (*e.Customer.Person.Addresses)[0].Address.GeoPosition
		if *geo.Latitude != lat || *geo.Longitude != lon || *geo.Altitude != alt {
			t.Errorf("%s: geoPosition = %v,%v,%v; want %v,%v,%v", *e.Customer.Id, *geo.Latitude, *geo.Longitude, *geo.Altitude, lat, lon, alt)
		}
	}
	if want := []string{"CUS-9", "cus-1", "cus-10", "cus-2", "cus-3", "cus.9", "cus_9"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("order = %v, want %v (byte order)", ids, want)
	}
}
