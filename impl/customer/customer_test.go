package customer_test

import (
	"bytes"
	"encoding/json"
	"strings"
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

func TestPublicDocument(t *testing.T) {
	clean := []byte(`{"id":"cus-1","documents":[{"purpose":"PEP&SANCTION"}],"person":{"email":"a@example.com"}}`)
	tests := []struct {
		name     string
		document string
		same     bool // the stored bytes are sent as they are
	}{
		{name: "clean document", document: string(clean), same: true},
		{name: "a value that looks like a name", document: `{"id":"cus-1","customerName":"Password"}`},
		{name: "password", document: `{"id":"cus-1","person":{"password":"hunter2"}}`},
		{name: "PASSWORD in another case", document: `{"id":"cus-1","person":{"PASSWORD":"hunter2"}}`},
		{name: "name spelled with an escape", document: `{"id":"cus-1","person":{"pass\u0077ord":"hunter2"}}`},
		{name: "quote escaped to hide a name", document: `{"id":"x\"","person":{"pinCode":"4711"}}`},
		{name: "secret answer", document: `{"person":{"SecretQuestion":[{"question":"Pet?","answer":"Rex"}]}}`},
		{name: "two-factor codes", document: `{"twofa":{"targetCode":"111111","InputCode":"222222"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := customer.PublicDocument([]byte(tc.document))
			if err != nil {
				t.Fatal(err)
			}
			if tc.same != (string(out) == tc.document) {
				t.Errorf("sent as stored = %v, want %v: %s", !tc.same, tc.same, out)
			}
			for _, secret := range []string{"hunter2", "4711", "Rex", "111111", "222222"} {
				if strings.Contains(string(out), secret) {
					t.Errorf("public document holds %q: %s", secret, out)
				}
			}
			var c gen.Customer
			if err := json.Unmarshal(out, &c); err != nil {
				t.Errorf("public document is not a customer: %v", err)
			}
		})
	}
	if _, err := customer.PublicDocument([]byte(`{"password":`)); err == nil {
		t.Error("a broken document passed")
	}
}

func BenchmarkPublicDocument(b *testing.B) {
	doc, _, err := customer.Split(secretive())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, err := customer.PublicDocument(doc); err != nil {
			b.Fatal(err)
		}
	}
}
