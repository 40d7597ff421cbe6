package demo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/demo"
	"github.com/cyrexa/customer-api/impl/secrets"
)

// idPattern is the contract's Identifier pattern with its length limits.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func TestDatasetCallsShareNothing(t *testing.T) {
	t.Parallel()

	t.Run("two calls return equal data", func(t *testing.T) {
		t.Parallel()
		if a, b := apitest.DemoDataset(), apitest.DemoDataset(); !reflect.DeepEqual(a, b) {
			t.Fatal("two calls of Dataset returned different data")
		}
	})

	t.Run("a change to one call's data does not reach the next", func(t *testing.T) {
		t.Parallel()
		a := apitest.DemoDataset()
		*a[0].Customers[0].CustomerName = "changed"
		if b := apitest.DemoDataset(); *b[0].Customers[0].CustomerName == "changed" {
			t.Fatal("Dataset returned data a caller had changed")
		}
	})
}

func TestDatasetOrganizations(t *testing.T) {
	t.Parallel()
	orgs := apitest.DemoDataset()

	t.Run("there are the retail and the wholesale organization", func(t *testing.T) {
		var ids []string
		for _, o := range orgs {
			ids = append(ids, o.ID)
		}
		if want := []string{demo.RetailOrganizationID, demo.WholesaleOrganizationID}; !slices.Equal(ids, want) {
			t.Fatalf("organization ids = %v, want %v", ids, want)
		}
		for _, id := range append(ids, demo.TenantID) {
			if !idPattern.MatchString(id) {
				t.Errorf("id %q does not match the contract's Identifier pattern", id)
			}
		}
	})

	t.Run("retail has 24 customers, wholesale 16, 4 of them shared", func(t *testing.T) {
		retail, wholesale := customerIDs(orgs[0]), customerIDs(orgs[1])
		if len(retail) != 24 || len(wholesale) != 16 {
			t.Errorf("retail has %d customers, wholesale %d; want 24 and 16", len(retail), len(wholesale))
		}
		shared := 0
		for _, id := range retail {
			if slices.Contains(wholesale, id) {
				shared++
			}
		}
		if shared != 4 {
			t.Errorf("%d customers are in both organizations, want 4", shared)
		}
	})

	t.Run("customer ids are valid, unique and sorted in each organization", func(t *testing.T) {
		for _, o := range orgs {
			ids := customerIDs(o)
			for i, id := range ids {
				if !idPattern.MatchString(id) {
					t.Errorf("%s: id %q does not match the contract's Identifier pattern", o.ID, id)
				}
				if i > 0 && ids[i-1] >= id {
					t.Errorf("%s: id %q follows %q: not unique and sorted", o.ID, id, ids[i-1])
				}
			}
		}
	})

	t.Run("the organizations together hold cus-0001 to cus-0036", func(t *testing.T) {
		var all []string
		for _, o := range orgs {
			all = append(all, customerIDs(o)...)
		}
		slices.Sort(all)
		all = slices.Compact(all)
		var want []string
		for n := 1; n <= 36; n++ {
			want = append(want, fmt.Sprintf("cus-%04d", n))
		}
		if !slices.Equal(all, want) {
			t.Errorf("customer ids = %v, want %v", all, want)
		}
	})

	t.Run("a shared customer is equal in both organizations but shares no memory", func(t *testing.T) {
		byID := map[string]gen.Customer{}
		for _, c := range orgs[0].Customers {
			byID[*c.Id] = c
		}
		for _, c := range orgs[1].Customers {
			other, ok := byID[*c.Id]
			if !ok {
				continue
			}
			if !reflect.DeepEqual(c, other) {
				t.Errorf("%s differs between the organizations", *c.Id)
			}
			if c.Person == other.Person {
				t.Errorf("%s: both organizations point to the same Person", *c.Id)
			}
		}
	})
}

func TestEveryFieldIsSet(t *testing.T) {
	t.Parallel()
	// The importer never stores two-factor codes, so the dataset leaves them out.
	want := []string{"customer.twofa.inputCode is nil", "customer.twofa.targetCode is nil"}
	for _, c := range allCustomers(t) {
		// No other nil pointer, empty slice or empty string anywhere in the tree.
		if got := unset("customer", reflect.ValueOf(c)); !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("%s: unset fields %q, want only %q", *c.Id, got, want)
		}
	}
}

// unset walks v and returns the JSON paths of nil pointers, empty slices and empty strings.
func unset(path string, v reflect.Value) []string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return []string{path + " is nil"}
		}
		return unset(path, v.Elem())
	case reflect.Struct:
		var out []string
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, unset(path+"."+name, v.Field(i))...)
		}
		return out
	case reflect.Slice:
		if v.Len() == 0 {
			return []string{path + " is empty"}
		}
		var out []string
		for i := range v.Len() {
			out = append(out, unset(fmt.Sprintf("%s[%d]", path, i), v.Index(i))...)
		}
		return out
	case reflect.String:
		if v.Len() == 0 {
			return []string{path + ` is ""`}
		}
	}
	return nil
}

func TestValuesComeFromTheContract(t *testing.T) {
	t.Parallel()
	seen := map[string]map[string]bool{}
	note := func(field, value string) {
		if seen[field] == nil {
			seen[field] = map[string]bool{}
		}
		seen[field][value] = true
	}
	for _, c := range allCustomers(t) {
		note("customerType", string(*c.CustomerType))
		note("customerStatus", string(*c.CustomerStatus))
		note("categorization", string(*c.Categorization))
		for _, n := range *c.Notifications {
			note("notificationType", *n.NotificationType)
		}
		p := c.Person
		note("gender", *p.Gender)
		for _, tel := range *p.TelephoneNumbers {
			note("phoneType", *tel.PhoneType)
			note("encoding", *tel.Encoding)
		}
		for _, a := range *p.Addresses {
			for _, r := range *a.Address.RelatedToAddress {
				note("relationType", *r.RelationType)
			}
			for _, v := range *a.Address.AdditionalData {
				note("typedValueType", *v.Type)
			}
		}
		for _, d := range *p.Documents {
			note("documentPurpose", string(*d.Purpose))
			note("documentType", string(*d.DocumentType))
			note("documentStatus", string(*d.Status))
			for _, v := range *d.Metadata {
				note("typedValueType", *v.Type)
			}
		}
		note("targetType", *c.Twofa.TargetType)
	}

	// Every enum value and every chosen open-string value occurs, and nothing else does.
	want := map[string][]string{
		"customerType":     {"Person", "Organization"},
		"customerStatus":   {"new", "verified", "under_verificaiton", "blacklisted", "under_investigation", "dispute", "on_hold", "bancrupted"},
		"categorization":   {"category1", "category2", "category3"},
		"documentPurpose":  {"KYB", "KYC", "PEP&SANCTION"},
		"documentType":     {"ID front side", "ID back side", "Passport", "accountAuthority", "shareholderStructure", "operationAddress", "registeredAddress", "selfie", "livelinessDetection"},
		"documentStatus":   {"underverification", "verified", "declined", "incomplete", "expired"},
		"notificationType": {"Marketingemails", "Transactionalemails"},
		"gender":           {"Male", "Female"},
		"phoneType":        {"fixed", "mobile"},
		"encoding":         {"numbers"},
		"relationType":     {"near_by"},
		"typedValueType":   {"Number", "String"},
		"targetType":       {"SMS", "EMAIL"},
	}
	for field, values := range want {
		t.Run(field+" takes exactly the expected values", func(t *testing.T) {
			got := slices.Sorted(maps.Keys(seen[field]))
			values = slices.Sorted(slices.Values(values))
			if !slices.Equal(got, values) {
				t.Errorf("%s values = %q, want %q", field, got, values)
			}
		})
	}
}

func TestCustomersFitTogether(t *testing.T) {
	t.Parallel()
	for _, c := range allCustomers(t) {
		p := c.Person
		personName := *p.FirstName.Name + " " + *p.LastName.Name
		switch *c.CustomerType {
		case gen.CustomerTypePerson:
			if *c.CustomerName != personName {
				t.Errorf("%s: person customer is named %q, the person %q", *c.Id, *c.CustomerName, personName)
			}
		case gen.CustomerTypeOrganization:
			if *c.CustomerName == personName {
				t.Errorf("%s: organization is named after its representative %q", *c.Id, personName)
			}
		}
		for _, a := range *p.Addresses {
			g := a.Address.GeoPosition
			// European cities, to the 7 decimals the contract's example uses.
			if *g.Latitude < 35 || *g.Latitude > 60 || *g.Longitude < 5 || *g.Longitude > 30 {
				t.Errorf("%s: position %v, %v is not in central or south-east Europe", *c.Id, *g.Latitude, *g.Longitude)
			}
			for _, v := range []float64{*g.Latitude, *g.Longitude} {
				if v != math.Round(v*1e7)/1e7 {
					t.Errorf("%s: coordinate %v has more than 7 decimals", *c.Id, v)
				}
			}
			if *g.Altitude <= 0 || *g.Altitude > 1000 {
				t.Errorf("%s: altitude %v m is not plausible for a city address", *c.Id, *g.Altitude)
			}
		}
		// The fixture spells TenantID out again; the documents' locations show that it agrees.
		for _, d := range *p.Documents {
			if want := "s3://kyc-documents/" + demo.TenantID + "/" + *c.Id + "/"; !strings.HasPrefix(*d.Location, want) {
				t.Errorf("%s: document at %q, want it under %q", *c.Id, *d.Location, want)
			}
		}
	}
}

func TestCustomersMatchTheContract(t *testing.T) {
	t.Parallel()
	schema := customerEntrySchema(t)

	for _, c := range allCustomers(t) {
		t.Run(*c.Id+" is a valid request body", func(t *testing.T) {
			t.Parallel()
			if err := schema.VisitJSON(entryJSON(t, c), openapi3.VisitAsRequest(), openapi3.MultiErrors()); err != nil {
				t.Error(err)
			}
		})

		t.Run(*c.Id+" is refused as a response because of its writeOnly secrets", func(t *testing.T) {
			t.Parallel()
			if err := schema.VisitJSON(entryJSON(t, c), openapi3.VisitAsResponse()); err == nil {
				t.Fatal("the customer validates as a response although its secrets are filled")
			}
			err := schema.VisitJSON(entryJSON(t, c), openapi3.VisitAsResponse(), openapi3.MultiErrors())
			got := map[string]bool{}
			for _, e := range flatten(err) {
				var se *openapi3.SchemaError
				if !errors.As(e, &se) || se.SchemaField != "writeOnly" {
					t.Errorf("unexpected error: %v", e)
					continue
				}
				got[pointer(se.JSONPointer())] = true
			}
			want := []string{
				"/customer/person/SecretQuestion/*/answer",
				"/customer/person/password",
				"/customer/person/pinCode",
			}
			if got := slices.Sorted(maps.Keys(got)); !slices.Equal(got, want) {
				t.Errorf("writeOnly errors at %q, want %q", got, want)
			}
		})
	}

	t.Run("every record of dataset.json passes the importer's validation", func(t *testing.T) {
		t.Parallel()
		c, err := contract.Load()
		if err != nil {
			t.Fatal(err)
		}
		for _, org := range rawOrganizations(t) {
			for i, raw := range org.Customers {
				if err := c.ValidateRecord(raw); err != nil {
					t.Errorf("%s record %d: %v", org.ID, i, err)
				}
			}
		}
	})

	t.Run("the schema refuses a status outside the contract", func(t *testing.T) {
		t.Parallel()
		c := allCustomers(t)[0]
		c.CustomerStatus = new(gen.CustomerStatus("bankrupt"))
		if err := schema.VisitJSON(entryJSON(t, c), openapi3.VisitAsRequest()); err == nil {
			t.Error("a customer with status \"bankrupt\" validates; the check above proves nothing")
		}
	})
}

func TestSecretsAreStoredHashes(t *testing.T) {
	t.Parallel()
	// The format and parameters of a new hash, without a pepper's keyid.
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	seen := map[string]string{}
	check := func(id, field string, value *string) {
		t.Helper()
		if value == nil {
			t.Errorf("%s: no %s", id, field)
			return
		}
		h := *value
		// Prepare keeps a value as given exactly when it is a hash it can verify.
		if kept := (secrets.Hasher{}).Prepare(h); !strings.HasPrefix(h, prefix) || kept != h {
			hash, _ := (secrets.Hasher{}).Hash(h) // for the one who edits dataset.json: what to write instead
			t.Errorf("%s: %s %q is not an argon2id PHC string as the importer writes it and keeps as given: write %s", id, field, h, hash)
		}
		if other, dup := seen[h]; dup {
			t.Errorf("%s: %s has the hash of %s: a salt is shared", id, field, other)
		}
		seen[h] = id + " " + field
	}
	for _, c := range allCustomers(t) {
		p := c.Person
		check(*c.Id, "password", p.Password)
		check(*c.Id, "pinCode", p.PinCode)
		for i, q := range *p.SecretQuestion {
			check(*c.Id, fmt.Sprintf("SecretQuestion[%d].answer", i), q.Answer)
		}
	}

	t.Run("the file holds no other value under a secret's name and no two-factor code", func(t *testing.T) {
		// Counted in the bytes, apart from decoding: a field gen.Customer does not know would
		// slip past the checks above.
		for _, name := range []string{"password", "pinCode", "answer"} {
			all := bytes.Count(demo.Dataset, []byte(`"`+name+`":`))
			hashed := bytes.Count(demo.Dataset, []byte(`"`+name+`":"`+prefix))
			if all == 0 || all != hashed {
				t.Errorf("%d values of %q, %d of them argon2id hashes", all, name, hashed)
			}
		}
		for _, name := range []string{"targetCode", "inputCode"} {
			if bytes.Contains(demo.Dataset, []byte(`"`+name+`"`)) {
				t.Errorf("dataset.json holds %q", name)
			}
		}
	})
}

func TestDatasetHasOneCustomerALine(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSuffix(string(demo.Dataset), "\n"), "\n")
	var customers, organizations int
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, `{"customer":`):
			customers++
		case strings.HasPrefix(line, `{"id":`):
			organizations++
		}
	}
	if customers != 24+16 || organizations != 2 || len(lines) != 2+2*organizations+customers {
		t.Errorf("dataset.json has %d lines, %d of them customers and %d organizations: want the brackets, two lines an organization and one a customer", len(lines), customers, organizations)
	}
}

// rawOrganization is an element of dataset.json with its records undecoded.
type rawOrganization struct {
	ID        string            `json:"id"`
	Customers []json.RawMessage `json:"customers"`
}

// rawOrganizations returns the organizations of dataset.json as the importer reads them.
func rawOrganizations(t *testing.T) []rawOrganization {
	t.Helper()
	var orgs []rawOrganization
	if err := json.Unmarshal(demo.Dataset, &orgs); err != nil {
		t.Fatalf("dataset.json: %v", err)
	}
	return orgs
}

// customerEntrySchema returns the contract's CustomerEntry schema from the embedded spec.
func customerEntrySchema(t *testing.T) *openapi3.Schema {
	t.Helper()
	c, err := contract.Load()
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	ref := c.Doc.Components.Schemas["CustomerEntry"]
	if ref == nil || ref.Value == nil {
		t.Fatal("the spec has no CustomerEntry schema")
	}
	return ref.Value
}

// entryJSON returns c wrapped in a list element, as the JSON-decoded value the validator expects.
func entryJSON(t *testing.T, c gen.Customer) map[string]any {
	t.Helper()
	data, err := json.Marshal(gen.CustomerEntry{Customer: &c})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// allCustomers returns every demo customer once, ordered by id.
func allCustomers(t *testing.T) []gen.Customer {
	t.Helper()
	byID := map[string]gen.Customer{}
	for _, o := range apitest.DemoDataset() {
		for _, c := range o.Customers {
			byID[*c.Id] = c
		}
	}
	var out []gen.Customer
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		out = append(out, byID[id])
	}
	return out
}

func customerIDs(o apitest.DemoOrganization) []string {
	ids := make([]string, len(o.Customers))
	for i, c := range o.Customers {
		ids[i] = *c.Id
	}
	return ids
}

// flatten returns the errors inside nested openapi3.MultiErrors.
func flatten(err error) []error {
	me, ok := err.(openapi3.MultiError)
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range me {
		out = append(out, flatten(e)...)
	}
	return out
}

// pointer writes a JSON pointer with array indices replaced by "*".
func pointer(parts []string) string {
	var sb strings.Builder
	for _, p := range parts {
		if strings.Trim(p, "0123456789") == "" {
			p = "*"
		}
		sb.WriteString("/" + p)
	}
	return sb.String()
}
