package main

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/secrets"
)

// committed is the generated file the demo package embeds.
const committed = "../../dataset.json"

func TestOutputIsTheCommittedDataset(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes every demo secret with argon2id; make check-generated compares the file too")
	}
	t.Parallel()
	got, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the generator's output differs from %s: run go generate ./impl/demo and commit the file", committed)
	}
}

func TestCustomersAreTheSameOnEveryCall(t *testing.T) {
	t.Parallel()
	if a, b := plainCustomers(), plainCustomers(); !reflect.DeepEqual(a, b) {
		t.Fatal("two calls of plainCustomers returned different customers")
	}
}

func TestSecretsAreHashedAsTheImporterWould(t *testing.T) {
	t.Parallel()
	// One customer shows the mapping; TestOutputIsTheCommittedDataset covers the rest.
	for _, plain := range plainCustomers()[:1] {
		c := clone(t, plain)
		if err := hashSecrets(&c); err != nil {
			t.Fatal(err)
		}
		pairs := [][2]string{
			{*plain.Person.Password, *c.Person.Password},
			{*plain.Person.PinCode, *c.Person.PinCode},
		}
		for i, q := range *plain.Person.SecretQuestion {
			pairs = append(pairs, [2]string{*q.Answer, *(*c.Person.SecretQuestion)[i].Answer})
		}
		salts := map[string]bool{}
		for _, p := range pairs {
			if !secrets.Matches(p[1], p[0]) {
				t.Errorf("%s: %q is not the hash of its plaintext", *c.Id, p[1])
			}
			if got, err := secrets.Prepare(p[1]); err != nil || got != p[1] {
				t.Errorf("%s: the importer would not keep %q as given: %q, %v", *c.Id, p[1], got, err)
			}
			salts[strings.Split(p[1], "$")[4]] = true // $argon2id$v=19$m=...,t=...,p=...$salt$key
		}
		if len(salts) != len(pairs) {
			t.Errorf("%s: %d salts for %d secrets", *c.Id, len(salts), len(pairs))
		}
		if c.Twofa.TargetCode != nil || c.Twofa.InputCode != nil || c.Twofa.Codematch == nil {
			t.Errorf("%s: two-factor codes kept or the rest of twofa dropped: %+v", *c.Id, *c.Twofa)
		}
	}
}

func TestTwoFactorCodesFitTogether(t *testing.T) {
	t.Parallel()
	for _, c := range plainCustomers() {
		tfa := c.Twofa
		if *tfa.Codematch != (*tfa.InputCode == *tfa.TargetCode) {
			t.Errorf("%s: codematch %v, but input code equal to target code is %v", *c.Id, *tfa.Codematch, *tfa.InputCode == *tfa.TargetCode)
		}
	}
}

func TestEncodeWritesOneCustomerToALine(t *testing.T) {
	t.Parallel()
	orgs := organizations(plainCustomers())
	data, err := encode(orgs)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []struct {
		ID        string           `json:"id"`
		Customers gen.CustomerList `json:"customers"`
	}
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("the output is not JSON: %v", err)
	}
	lines := bytes.Count(data, []byte("\n"))
	if want := 2 + 2*len(orgs) + len(orgs[0].Customers) + len(orgs[1].Customers); lines != want {
		t.Errorf("%d lines, want %d: the brackets, two per organization and one per customer", lines, want)
	}
	for i, o := range orgs {
		if decoded[i].ID != o.ID || len(decoded[i].Customers) != len(o.Customers) {
			t.Fatalf("organization %d decodes as %s with %d customers, want %s with %d",
				i, decoded[i].ID, len(decoded[i].Customers), o.ID, len(o.Customers))
		}
		for j, e := range decoded[i].Customers {
			if !reflect.DeepEqual(*e.Customer, o.Customers[j]) {
				t.Errorf("%s: customer %s does not decode as it was", o.ID, *o.Customers[j].Id)
			}
		}
	}
}

// clone returns a deep copy of c, so that hashing it leaves c as it was.
func clone(t *testing.T, c gen.Customer) gen.Customer {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out gen.Customer
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
