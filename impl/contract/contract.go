// Package contract holds the service's runtime view of openapi.yaml: the embedded spec, loaded
// once; the operation a request is for, found once (operation.go); and the checks kin-openapi
// makes against it: requests, every response (response.go) and imported customer records.
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
	Doc *openapi3.T
	// entry is the schema of one element of the customer list, used to check imported records.
	entry *openapi3.Schema
	// identifier is the schema of tenant, organization and customer ids.
	identifier *openapi3.Schema
	// router finds the operation of a request; paths lists the methods of each path.
	router routers.Router
	paths  pathMethods
	// writeOnly is where a customer has writeOnly properties (see WriteOnly).
	writeOnly []Path
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
	// The published server is absolute (https://gateway...); matched against a local request's
	// Host it would fail every request, so routing uses the relative base path alone.
	doc.Servers = openapi3.Servers{{URL: BasePath}}
	entry := doc.Components.Schemas["CustomerEntry"]
	if entry == nil || entry.Value == nil {
		return nil, errors.New("embedded spec has no CustomerEntry schema")
	}
	identifier := doc.Components.Schemas["Identifier"]
	if identifier == nil || identifier.Value == nil {
		return nil, errors.New("embedded spec has no Identifier schema")
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route embedded spec: %w", err)
	}
	customer := doc.Components.Schemas["Customer"]
	if customer == nil || customer.Value == nil {
		return nil, errors.New("embedded spec has no Customer schema")
	}
	return &Contract{Doc: doc, entry: entry.Value, identifier: identifier.Value, router: router,
		paths: newPathMethods(BasePath, doc.Paths), writeOnly: writeOnlyPaths(customer.Value, nil, nil)}, nil
}

// RecordError says which part of an imported record breaks the contract.
type RecordError struct {
	// Pointer is the JSON pointer of the offending value within the record, "" for the record.
	Pointer string
	Reason  string
}

func (e *RecordError) Error() string {
	if e.Pointer == "" {
		return e.Reason
	}
	return e.Pointer + ": " + e.Reason
}

// ValidateRecord checks one element of a customer list, as JSON, against the spec's CustomerEntry
// schema in the request direction: writeOnly fields are allowed, as on import. Reasons never
// quote the value.
func (c *Contract) ValidateRecord(raw []byte) error {
	var value any
	// goccy/go-json decodes to the same types as encoding/json, about twice as fast: the
	// decode is half of what an import spends per record.
	if err := gojson.Unmarshal(raw, &value); err != nil {
		return &RecordError{Reason: "is not valid JSON"}
	}
	err := c.entry.VisitJSON(value, openapi3.VisitAsRequest())
	if err == nil {
		return nil
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		pointer := ""
		if parts := se.JSONPointer(); len(parts) > 0 {
			pointer = "/" + strings.Join(escapePointer(parts), "/")
		}
		return &RecordError{Pointer: pointer, Reason: se.Reason}
	}
	return &RecordError{Reason: "does not match the Customer schema"}
}

func escapePointer(parts []string) []string {
	out := make([]string, len(parts))
	r := strings.NewReplacer("~", "~0", "/", "~1")
	for i, p := range parts {
		out[i] = r.Replace(p)
	}
	return out
}

// ValidIdentifier reports whether id is a valid tenant, organization or customer id.
func (c *Contract) ValidIdentifier(id string) bool {
	return c.identifier.VisitJSON(id) == nil
}
