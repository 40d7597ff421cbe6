package server_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the driver, to write around the import path

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
)

// TestSecretsWrittenAroundTheImportPathNeverLeave stores a document that holds every kind of
// secret straight into the database, as a bug or a careless migration might, and checks that
// the service does not send any of them.
func TestSecretsWrittenAroundTheImportPathNeverLeave(t *testing.T) {
	env := apitest.MustStart(t)
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

	resp := getCustomers(t, env, tenant, "org-1")
	if resp.StatusCode() != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body)
	}
	for _, s := range append(secrets, `"password"`, `"pinCode"`, `"answer"`, `"targetCode"`, `"inputCode"`) {
		if strings.Contains(string(resp.Body), s) {
			t.Errorf("response carries %s: %s", s, resp.Body)
		}
	}
	c := (*resp.JSON200)[0].Customer
	if *c.CustomerName != name || (*c.Person.SecretQuestion)[0].Question == nil || *c.Twofa.Codematch != true {
		t.Errorf("the customer's public fields did not survive: %s", resp.Body)
	}
}
