package customer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/cyrexa/customer-api/gen"
	"github.com/cyrexa/customer-api/impl/apitest"
	"github.com/cyrexa/customer-api/impl/contract"
	"github.com/cyrexa/customer-api/impl/customer"
	"github.com/cyrexa/customer-api/impl/secrets"
	"github.com/cyrexa/customer-api/impl/store"
)

func ptr[T any](v T) *T { return &v }

func secretive() gen.Customer {
	return gen.Customer{
		Id: ptr("cus-1"),
		Person: &gen.Person{
			Password:       ptr("hunter2"),
			PinCode:        ptr("4711"),
			Email:          ptr("a@example.com"),
			SecretQuestion: &[]gen.SecretQuestion{{Question: ptr("Pet?"), Answer: ptr("Rex")}, {Question: ptr("City?")}},
		},
		Twofa: &gen.TwoFactorAuthentication{TargetCode: ptr("123456"), InputCode: ptr("123456"), Codematch: ptr(true)},
	}
}

func TestSplitKeepsCredentialsOutOfTheDocument(t *testing.T) {
	c := secretive()
	doc, creds, err := customer.Split(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hunter2", "4711", "Rex", "123456", "password", "pinCode", "answer", "Code\""} {
		if bytes.Contains(doc, []byte(s)) {
			t.Errorf("document holds %q: %s", s, doc)
		}
	}
	if *creds.Password != "hunter2" || *creds.PIN != "4711" || len(creds.SecretAnswers) != 2 ||
		*creds.SecretAnswers[0] != "Rex" || creds.SecretAnswers[1] != nil {
		t.Errorf("credentials = %+v", creds)
	}
	if c.Person.Password == nil || (*c.Person.SecretQuestion)[0].Answer == nil || c.Twofa.TargetCode == nil {
		t.Error("Split changed its argument")
	}
}

func TestHashCredentialsKeepsAHashWhosePlaintextDidNotChange(t *testing.T) {
	_, creds, _ := customer.Split(secretive())
	first := customer.HashCredentialsWith(secrets.Hasher{}, creds, store.Secrets{})
	if !(secrets.Hasher{}).Matches(first.PasswordHash, "hunter2") || !(secrets.Hasher{}).Matches(first.PINHash, "4711") ||
		!(secrets.Hasher{}).Matches(first.SecretAnswerHashes[0], "Rex") || first.SecretAnswerHashes[1] != "" {
		t.Fatalf("hashes do not match their plaintexts: %+v", first)
	}
	again := customer.HashCredentialsWith(secrets.Hasher{}, creds, first)
	if again.PasswordHash != first.PasswordHash || again.PINHash != first.PINHash || again.SecretAnswerHashes[0] != first.SecretAnswerHashes[0] {
		t.Error("an unchanged plaintext was hashed anew")
	}
	creds.Password = ptr("changed")
	changed := customer.HashCredentialsWith(secrets.Hasher{}, creds, first)
	if changed.PasswordHash == first.PasswordHash || !(secrets.Hasher{}).Matches(changed.PasswordHash, "changed") {
		t.Error("a changed password kept its old hash")
	}
}

// TestSplitStripsEveryWriteOnlyPropertyOfTheContract fills every property that openapi.yaml
// marks writeOnly, found by walking the loaded contract, and checks that none survives into the
// stored document. After a regeneration that adds a write-only property, this fails until the
// import path keeps it out of the document.
func TestSplitStripsEveryWriteOnlyPropertyOfTheContract(t *testing.T) {
	c, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	paths := apitest.WriteOnly(c)
	if len(paths) == 0 {
		t.Fatal("the contract has no writeOnly property: the walk is broken")
	}
	value := map[string]any{"id": "cus-1"}
	for i, p := range paths {
		set(value, p, fmt.Sprintf("write-only-marker-%d", i))
	}
	raw, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	var in gen.Customer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("gen.Customer does not hold every write-only property (regenerate with make generate): %v", err)
	}
	document, _, err := customer.Split(in)
	if err != nil {
		t.Fatal(err)
	}
	left, err := apitest.WriteOnlyValues(c, document)
	if err != nil {
		t.Fatal(err)
	}
	for path, values := range left {
		t.Errorf("the stored document keeps the write-only %s (%d values): strip it in customer.Split", path, len(values))
	}
	for i := range paths {
		if marker := fmt.Sprintf("write-only-marker-%d", i); bytes.Contains(document, []byte(marker)) {
			t.Errorf("the stored document holds the value of the write-only %s", paths[i])
		}
	}
}

// set puts v at path within m, making the objects and one-element arrays on the way.
func set(m map[string]any, path apitest.Path, v any) {
	name, rest := path[0], path[1:]
	if len(rest) == 0 {
		m[name] = v
		return
	}
	if rest[0] == apitest.Items {
		list, _ := m[name].([]any)
		if len(list) == 0 {
			list = []any{map[string]any{}}
			m[name] = list
		}
		set(list[0].(map[string]any), rest[1:], v)
		return
	}
	child, ok := m[name].(map[string]any)
	if !ok {
		child = map[string]any{}
		m[name] = child
	}
	set(child, rest, v)
}
