package server_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	_ "modernc.org/sqlite" // the driver, to write around the import path

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
)

// TestSecretsWrittenAroundTheImportPathNeverLeave stores a document that holds every kind of
// secret straight into the database, as a bug or a careless migration might, and checks that
// the service does not send any of them: the read path sends stored documents as they are, so
// the response validator is the wall, and it refuses the list (500) rather than send a secret.
func TestSecretsWrittenAroundTheImportPathNeverLeave(t *testing.T) {
	env := apitest.MustStart(t)
	env.AllowContractFailures()
	id, name := "cus-leak", "Leaky Customer"
	env.MustImport(t, tenant, "org-1", gen.Customer{Id: &id, CustomerName: &name})

	secrets := []string{"plain-password-42", "98765", "answer-fluffy", "code-111111", "code-222222"}
	env.Sensitive(secrets...)
	document := `{"id":"cus-leak","customerName":"Leaky Customer",
		"person":{"password":"plain-password-42","pinCode":"98765",
			"SecretQuestion":[{"question":"Pet?","answer":"answer-fluffy"}]},
		"twofa":{"targetType":"SMS","targetCode":"code-111111","inputCode":"code-222222","codematch":true}}`
	db, err := sql.Open("sqlite", env.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE customers SET document = ? WHERE tenant_id = ? AND id = ?`, document, tenant, id)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("write the leaky document: %v (%d rows)", err, n)
	}

	for _, gzip := range []bool{false, true} {
		resp := getCustomers(t, env, tenant, "org-1", withGzip(gzip))
		if resp.StatusCode() != http.StatusInternalServerError {
			t.Fatalf("gzip %v: status %d, want 500: %s", gzip, resp.StatusCode(), resp.Body)
		}
		for _, s := range append(secrets, writeOnlyNames(env.Contract)...) {
			if strings.Contains(string(resp.Body), s) {
				t.Errorf("response carries %s: %s", s, resp.Body)
			}
		}
	}
	if n := testutil.ToFloat64(env.Metrics.ResponseValidationFailures.WithLabelValues("getOrganizationCustomers", "200")); n != 2 {
		t.Errorf("failures counted = %v, want 2", n)
	}
}
