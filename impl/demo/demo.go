// Package demo holds the demo dataset and loads it: one tenant, two organizations and 36 customers
// with every field of the contract filled with realistic, made-up values.
//
// The dataset is dataset.json, a fixture edited by hand and embedded here: one organization a
// line, then one customer a line, so that a change shows as the customers it touches. Its secrets
// are already argon2id hashes and its two-factor codes are left out, as the importer stores them,
// so loading it hashes nothing. To add or change a secret, write its plaintext and run
// `go test ./impl/demo`: the failure names the hash to write instead. The tests hold the file to
// the contract: each customer a valid import record and, less its writeOnly secrets, a valid
// response entry; every field of the contract filled somewhere; every enum value used.
package demo

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/cyrexa/customer-api/gen"
)

// TenantID is the tenant that owns the demo organizations.
const TenantID = "tenant-demo"

// RetailOrganizationID is the demo organization that sells to consumers; most of its customers are persons.
const RetailOrganizationID = "org-retail"

// WholesaleOrganizationID is the demo organization that sells to businesses; most of its customers are organizations.
const WholesaleOrganizationID = "org-wholesale"

//go:embed dataset.json
var dataset []byte

// Organization is a demo organization of TenantID with its customers, ordered by customer id.
type Organization struct {
	ID        string
	Customers []gen.Customer
}

// Dataset returns the demo organizations with their customers: 24 in RetailOrganizationID and 16 in
// WholesaleOrganizationID, 4 of them in both. Password, PIN and secret answers are argon2id PHC
// strings; the two-factor codes are absent. Every call decodes the data afresh, so callers may
// modify it; a customer in both organizations is equal in both but shares no memory.
func Dataset() []Organization {
	var orgs []struct {
		ID        string           `json:"id"`
		Customers gen.CustomerList `json:"customers"`
	}
	if err := json.Unmarshal(dataset, &orgs); err != nil {
		// dataset.json is checked by this package's tests: only a broken build gets here.
		panic(fmt.Sprintf("demo: decode the embedded dataset.json: %v", err))
	}
	out := make([]Organization, len(orgs))
	for i, o := range orgs {
		out[i].ID = o.ID
		for _, e := range o.Customers {
			out[i].Customers = append(out[i].Customers, *e.Customer)
		}
	}
	return out
}
