package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/problem"
	"github.com/cyrexa/customer-api/impl/store"
)

// failingStore is a real store whose read of customers is replaced by a failure.
type failingStore struct {
	store.Store
	read func() ([]store.Customer, error)
}

func (f failingStore) OrganizationVersion(context.Context, string, string) (string, error) {
	return "v-failing", nil
}

func (f failingStore) ReadOrganization(context.Context, string, string) (store.Snapshot, error) {
	list, err := f.read()
	if err != nil {
		return nil, err
	}
	return &apitest.Snapshot{V: "v-failing", List: list}, nil
}

// TestServiceFailuresAreOpaqueProblems checks that a failing store and a panicking handler both
// answer a 500 (or 503) problem without internal detail, and that the log line that explains it
// carries the same request id as the response.
func TestServiceFailuresAreOpaqueProblems(t *testing.T) {
	const internal = "disk /dev/sda1 exploded at offset 0x1234"
	tests := []struct {
		name       string
		read       func() ([]store.Customer, error)
		wantStatus int
		wantType   string
		wantLog    string
		// contractFailure: the response validator, not the handler, turns this into a 500.
		contractFailure bool
	}{
		{
			name:       "store error",
			read:       func() ([]store.Customer, error) { return nil, errors.New(internal) },
			wantStatus: http.StatusInternalServerError, wantType: problem.Internal.TypeURI(), wantLog: internal,
		},
		{
			name:       "panic",
			read:       func() ([]store.Customer, error) { panic(internal) },
			wantStatus: http.StatusInternalServerError, wantType: problem.Internal.TypeURI(), wantLog: internal,
		},
		{
			name:       "store unreachable",
			read:       func() ([]store.Customer, error) { return nil, errors.Join(store.ErrUnavailable, errors.New(internal)) },
			wantStatus: http.StatusServiceUnavailable, wantType: problem.Unavailable.TypeURI(), wantLog: internal,
		},
		{
			name: "a stored document that breaks the contract",
			read: func() ([]store.Customer, error) {
				return []store.Customer{{ID: "cus-1", Document: []byte(`{"id":"cus-1","customerStatus":"gone"}`)}}, nil
			},
			wantStatus: http.StatusInternalServerError, wantType: problem.Internal.TypeURI(),
			wantLog: `"pointer":"/0/customer/customerStatus"`, contractFailure: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := apitest.MustStart(t)
			env := apitest.MustStartWith(t, base.Contract, failingStore{Store: base.Store, read: tc.read})
			if tc.contractFailure {
				env.AllowContractFailures()
			}

			resp, err := env.Client.GetOrganizationCustomersWithResponse(context.Background(), "org-1", env.Params(t, tenant), env.Bearer(t, tenant))
			if err != nil {
				t.Fatal(err)
			}
			var p gen.Problem
			if err := json.Unmarshal(resp.Body, &p); err != nil {
				t.Fatalf("body %s: %v", resp.Body, err)
			}
			if resp.StatusCode() != tc.wantStatus || p.Type != tc.wantType {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode(), p.Type, tc.wantStatus, tc.wantType)
			}
			if strings.Contains(string(resp.Body), "0x1234") || strings.Contains(string(resp.Body), "gone") {
				t.Errorf("the problem shows internal detail: %s", resp.Body)
			}
			if tc.wantStatus == http.StatusServiceUnavailable && resp.HTTPResponse.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			id := resp.HTTPResponse.Header.Get("X-Request-Id")
			if p.RequestId == nil || *p.RequestId != id {
				t.Fatalf("requestId %v, header %q", p.RequestId, id)
			}
			if !eventually(func() bool { return logLineHas(env.Logs.String(), id, tc.wantLog) }) {
				t.Errorf("no log line with request id %s explains the failure:\n%s", id, env.Logs.String())
			}
			if ok := getCustomers(t, base, tenant, "org-1"); ok.StatusCode() != http.StatusNotFound {
				t.Errorf("the service did not keep serving: %d", ok.StatusCode())
			}
		})
	}
}

// eventually reports whether cond holds within a few seconds: log lines trail the response.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// logLineHas reports whether one JSON log line carries the request id and mentions want.
func logLineHas(logs, requestID, want string) bool {
	for _, line := range strings.Split(logs, "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		if entry["request_id"] == requestID && strings.Contains(line, want) {
			return true
		}
	}
	return false
}
