package customer_test

import (
	"bytes"
	"testing"

	"github.com/cyrexa/customer-api/gen"
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
	first, err := customer.HashCredentials(creds, store.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	if !secrets.Matches(first.PasswordHash, "hunter2") || !secrets.Matches(first.PINHash, "4711") ||
		!secrets.Matches(first.SecretAnswerHashes[0], "Rex") || first.SecretAnswerHashes[1] != "" {
		t.Fatalf("hashes do not match their plaintexts: %+v", first)
	}
	again, err := customer.HashCredentials(creds, first)
	if err != nil {
		t.Fatal(err)
	}
	if again.PasswordHash != first.PasswordHash || again.PINHash != first.PINHash || again.SecretAnswerHashes[0] != first.SecretAnswerHashes[0] {
		t.Error("an unchanged plaintext was hashed anew")
	}
	creds.Password = ptr("changed")
	changed, _ := customer.HashCredentials(creds, first)
	if changed.PasswordHash == first.PasswordHash || !secrets.Matches(changed.PasswordHash, "changed") {
		t.Error("a changed password kept its old hash")
	}
}
