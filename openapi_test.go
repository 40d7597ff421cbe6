package customerapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"go.yaml.in/yaml/v3"

	customerapi "github.com/cyrexa/customer-api"
)

// TestOpenAPIJSON fails when openapi.json is not the document openapi.yaml is: run `make
// generate` and commit both.
func TestOpenAPIJSON(t *testing.T) {
	t.Parallel()

	t.Run("the JSON is the same document as the YAML", func(t *testing.T) {
		var fromJSON, fromYAML any
		if err := json.Unmarshal(customerapi.OpenAPIJSON, &fromJSON); err != nil {
			t.Fatalf("openapi.json does not parse: %v", err)
		}
		if err := yaml.Unmarshal(customerapi.OpenAPIYAML, &fromYAML); err != nil {
			t.Fatalf("openapi.yaml does not parse: %v", err)
		}
		// Both written as JSON again: encoding/json sorts the keys and writes a number alike,
		// whichever decoder read it (float64 or int).
		got, errJSON := json.Marshal(fromJSON)
		want, errYAML := json.Marshal(fromYAML)
		if err := errors.Join(errJSON, errYAML); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("openapi.json is not the same document as openapi.yaml: run 'make generate' and commit")
		}
	})

	t.Run("the keys keep the YAML's order", func(t *testing.T) {
		if !bytes.HasPrefix(customerapi.OpenAPIJSON, []byte("{\n  \"openapi\": \"3.0.3\",\n  \"info\": {")) {
			t.Errorf("openapi.json does not start with openapi and info: %.80s", customerapi.OpenAPIJSON)
		}
	})
}
