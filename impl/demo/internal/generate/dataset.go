package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/secrets"
)

// The demo's tenant and organizations: demo.TenantID, demo.RetailOrganizationID and
// demo.WholesaleOrganizationID, spelled out again because this command cannot import the package
// that embeds its output. The demo package's tests check that the two agree.
const (
	tenantID                = "tenant-demo"
	retailOrganizationID    = "org-retail"
	wholesaleOrganizationID = "org-wholesale"
)

// customerCount is how many customers the demo has, numbered from 1: cus-0001 to cus-0036.
const customerCount = 36

// seed is mixed with each customer's number to seed that customer's generator, and into the salts
// of its secrets. Changing it changes every customer.
const seed uint64 = 0x637972657861 // "cyrexa"

// organization is one element of dataset.json: an organization's id and its customers in the
// import format, ordered by customer id.
type organization struct {
	ID        string
	Customers []gen.Customer
}

// generate returns the contents of dataset.json.
func generate() ([]byte, error) {
	customers := plainCustomers()
	if err := hashAll(customers); err != nil {
		return nil, err
	}
	return encode(organizations(customers))
}

// plainCustomers returns the demo customers as drawn, plaintext secrets and two-factor codes
// included. Each is drawn from its own generator, seeded with seed and the customer's number, so
// it never depends on the clock, on the global random source or on the other customers.
func plainCustomers() []gen.Customer {
	out := make([]gen.Customer, customerCount)
	for i := range out {
		out[i] = newCustomer(i + 1)
	}
	return out
}

// organizations places the customers into the retail and the wholesale organization; a customer
// in both is equal in both.
func organizations(customers []gen.Customer) []organization {
	retail := organization{ID: retailOrganizationID}
	wholesale := organization{ID: wholesaleOrganizationID}
	for i, c := range customers {
		inRetail, inWholesale := membership(i + 1)
		if inRetail {
			retail.Customers = append(retail.Customers, c)
		}
		if inWholesale {
			wholesale.Customers = append(wholesale.Customers, c)
		}
	}
	return []organization{retail, wholesale}
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

// hashAll hashes the secrets of every customer, as many at a time as there are CPUs: each hash
// takes argon2id's 19 MiB and tens of milliseconds.
func hashAll(customers []gen.Customer) error {
	errs := make([]error, len(customers))
	turns := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range customers {
		wg.Go(func() {
			turns <- struct{}{}
			defer func() { <-turns }()
			errs[i] = hashSecrets(&customers[i])
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hashSecrets replaces c's password, PIN and secret answers with their argon2id PHC strings and
// drops its two-factor codes: what the importer stores of them. The importer keeps a value that
// already is a hash as given, so loading the demo hashes nothing.
func hashSecrets(c *gen.Customer) error {
	hash := func(value *string, field string) error {
		if value == nil {
			return nil
		}
		h, err := secrets.HashWithSalt(*value, salt(*c.Id, field))
		if err != nil {
			return fmt.Errorf("%s %s: %w", *c.Id, field, err)
		}
		*value = h
		return nil
	}
	if p := c.Person; p != nil {
		if err := hash(p.Password, "password"); err != nil {
			return err
		}
		if err := hash(p.PinCode, "pinCode"); err != nil {
			return err
		}
		if p.SecretQuestion != nil {
			for i := range *p.SecretQuestion {
				if err := hash((*p.SecretQuestion)[i].Answer, fmt.Sprintf("SecretQuestion/%d/answer", i)); err != nil {
					return err
				}
			}
		}
	}
	if t := c.Twofa; t != nil {
		t.TargetCode, t.InputCode = nil, nil
	}
	return nil
}

// salt returns the salt of one secret of one customer, derived from seed, the customer's id and
// the secret's field. Real salts are random; these are derived so that dataset.json comes out the
// same on every run, which gives nothing away: every demo secret is made up and published.
func salt(customerID, field string) []byte {
	sum := sha256.Sum256(fmt.Appendf(nil, "customer-api demo salt\x00%d\x00%s\x00%s", seed, customerID, field))
	return sum[:secrets.SaltLen]
}

// encode writes the organizations as a JSON array of {"id": ..., "customers": [{"customer": ...}]}
// with one customer to a line, so that a change shows in a diff customer by customer. HTML
// characters stay unescaped ("PEP&SANCTION"), as the store keeps them.
func encode(orgs []organization) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteString("[\n")
	for i, o := range orgs {
		buf.WriteString(`{"id":`)
		if err := enc.Encode(o.ID); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode ends every value with a newline
		buf.WriteString(`,"customers":[` + "\n")
		for j := range o.Customers {
			if err := enc.Encode(gen.CustomerEntry{Customer: &o.Customers[j]}); err != nil {
				return nil, fmt.Errorf("encode %s: %w", *o.Customers[j].Id, err)
			}
			if j < len(o.Customers)-1 {
				buf.Truncate(buf.Len() - 1)
				buf.WriteString(",\n")
			}
		}
		buf.WriteString("]}")
		if i < len(orgs)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("]\n")
	return buf.Bytes(), nil
}
