// Package contract is the service's runtime view of openapi.yaml: the embedded spec, loaded once;
// the operation a request is for; and kin-openapi's checks of requests, responses and records.
package contract

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	gojson "github.com/goccy/go-json"

	customerapi "github.com/cyrexa/customer-api"
)

// BasePath is where the API is mounted, as the spec's relative server says.
const BasePath = "/customer/1.0.0"

// Contract is the loaded spec and what is derived from it.
type Contract struct {
	Doc                        *openapi3.T
	entry, identifier, problem *openapi3.Schema
	router                     routers.Router
}

// Load parses the embedded openapi.yaml and validates it. Call it once: parsing takes a while.
func Load() (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(customerapi.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load embedded spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate embedded spec: %w", err)
	}
	// The published server is absolute: matched against a local request's Host it would fail.
	doc.Servers = openapi3.Servers{{URL: BasePath}}
	c := &Contract{Doc: doc}
	for name, s := range map[string]**openapi3.Schema{"CustomerEntry": &c.entry, "Identifier": &c.identifier, "Problem": &c.problem} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("embedded spec has no %s schema", name)
		}
		*s = ref.Value
	}
	if c.router, err = gorillamux.NewRouter(doc); err != nil {
		return nil, fmt.Errorf("route embedded spec: %w", err)
	}
	return c, nil
}

// ValidateRecord checks one element of a customer list, as JSON, against the CustomerEntry
// schema in the request direction (writeOnly fields allowed, as on import). The error says
// where and why, never quoting a value.
func (c *Contract) ValidateRecord(raw []byte) error {
	var value any
	// goccy/go-json: the same types as encoding/json, twice as fast; half of an import's cost.
	if err := gojson.Unmarshal(raw, &value); err != nil {
		return errors.New("is not valid JSON")
	}
	var se *openapi3.SchemaError
	switch err := c.entry.VisitJSON(value, openapi3.VisitAsRequest()); {
	case errors.As(err, &se) && pointer(se) != "":
		return errors.New(pointer(se) + ": " + se.Reason)
	case se != nil:
		return errors.New(se.Reason)
	case err != nil:
		return errors.New("does not match the Customer schema")
	}
	return nil
}

// pointer is the JSON pointer of a schema error's value, "" for the whole value.
func pointer(se *openapi3.SchemaError) string {
	var b strings.Builder
	for _, p := range se.JSONPointer() {
		b.WriteString("/" + pointerToken.Replace(p))
	}
	return b.String()
}

// pointerToken escapes a JSON pointer's reference token (RFC 6901).
var pointerToken = strings.NewReplacer("~", "~0", "/", "~1")

// ValidIdentifier reports whether id is a valid tenant, organization or customer id.
func (c *Contract) ValidIdentifier(id string) bool {
	return c.identifier.VisitJSON(id) == nil
}
