package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/demo"
)

// TestEveryRequestLeavesOneAuditLine checks the access log's audit facts: who, what, how it
// ended, how many customers, and the request id; and never a credential.
func TestEveryRequestLeavesOneAuditLine(t *testing.T) {
	env := apitest.MustStart(t)
	env.MustImport(t, tenant, "org-1", demoCustomers(t, demo.WholesaleOrganizationID)...)

	resp := getCustomers(t, env, tenant, "org-1")
	if resp.StatusCode() != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode())
	}
	id := resp.HTTPResponse.Header.Get("X-Request-Id")
	// The line is written once the answer has gone, so it may trail the response a little.
	var lines []map[string]any
	for deadline := time.Now().Add(5 * time.Second); len(lines) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(env.Logs.String(), "\n") {
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) == nil && entry["msg"] == "request" && entry["request_id"] == id {
				lines = append(lines, entry)
			}
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d audit lines for request %s, want 1:\n%s", len(lines), id, env.Logs.String())
	}
	line := lines[0]
	want := map[string]any{
		"tenant": tenant, "subject": "integration-" + tenant, "organization": "org-1",
		"status": float64(200), "customers": float64(len(*resp.JSON200)),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("audit %s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["duration_ms"]; !ok {
		t.Error("audit line without latency")
	}
	// Credentials: apitest fails the test if a token it made appears in the logs. Personal data:
	for _, c := range *resp.JSON200 {
		if strings.Contains(env.Logs.String(), *c.Customer.Person.Email) {
			t.Fatalf("a customer's email was logged")
		}
	}
}
