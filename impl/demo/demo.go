// Package demo generates the demo dataset: one tenant, two organizations and 36 customers with every
// field of the contract filled with realistic, made-up values, the writeOnly secrets included.
//
// The data is the same on every run and every machine: each customer is drawn from its own gofakeit
// generator, seeded with a fixed seed and the customer's number, so it never depends on the clock, on
// the global random source or on the other customers.
package demo

import "github.com/cyrexa/customer-api/gen"

// TenantID is the tenant that owns the demo organizations.
const TenantID = "tenant-demo"

// RetailOrganizationID is the demo organization that sells to consumers; most of its customers are persons.
const RetailOrganizationID = "org-retail"

// WholesaleOrganizationID is the demo organization that sells to businesses; most of its customers are organizations.
const WholesaleOrganizationID = "org-wholesale"

// customerCount is how many customers the demo has, numbered from 1: cus-0001 to cus-0036.
const customerCount = 36

// seed is mixed with each customer's number to seed that customer's generator. Changing it changes
// every customer, and the golden hash in testdata with them.
const seed uint64 = 0x637972657861 // "cyrexa"

// Organization is a demo organization of TenantID with its customers, ordered by customer id.
type Organization struct {
	ID        string
	Customers []gen.Customer
}

// Dataset returns the demo organizations with their customers: 24 in RetailOrganizationID and 16 in
// WholesaleOrganizationID, 4 of them in both. Every call builds the data afresh, so callers may
// modify it; a customer in both organizations is equal in both but shares no memory.
func Dataset() []Organization {
	retail := Organization{ID: RetailOrganizationID}
	wholesale := Organization{ID: WholesaleOrganizationID}
	for n := 1; n <= customerCount; n++ {
		inRetail, inWholesale := membership(n)
		if inRetail {
			retail.Customers = append(retail.Customers, newCustomer(n))
		}
		if inWholesale {
			wholesale.Customers = append(wholesale.Customers, newCustomer(n))
		}
	}
	return []Organization{retail, wholesale}
}

// membership reports which organizations customer n belongs to: every ninth customer buys from
// both, 12 others only wholesale and the remaining 20 only retail.
func membership(n int) (retail, wholesale bool) {
	switch {
	case n%9 == 0:
		return true, true
	case n%8 == 2, n%8 == 5, n%8 == 7:
		return false, true
	default:
		return true, false
	}
}
