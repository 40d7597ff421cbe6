package apitest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cyrexa/customer-api/impl/contract"
)

// Items stands, in a Path, for every element of an array.
const Items = "[]"

// Path is where a property sits within a customer document: property names, Items for array
// elements.
type Path []string

func (p Path) String() string { return "/" + strings.Join(p, "/") }

// WriteOnly returns where the contract's Customer has writeOnly properties: the credentials
// accepted on import and never returned.
func WriteOnly(c *contract.Contract) []Path {
	return writeOnlyPaths(c.Doc.Components.Schemas["Customer"].Value, nil, nil)
}

// writeOnlyPaths walks a schema for writeOnly properties, stopping where a schema recurs.
func writeOnlyPaths(s *openapi3.Schema, at Path, seen []*openapi3.Schema) []Path {
	if s == nil || slices.Contains(seen, s) {
		return nil
	}
	seen = append(seen, s)
	var out []Path
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		prop := s.Properties[name]
		if prop == nil || prop.Value == nil {
			continue
		}
		here := append(slices.Clone(at), name)
		if prop.Value.WriteOnly {
			out = append(out, here)
			continue
		}
		out = append(out, writeOnlyPaths(prop.Value, here, seen)...)
	}
	if s.Items != nil {
		out = append(out, writeOnlyPaths(s.Items.Value, append(slices.Clone(at), Items), seen)...)
	}
	for _, ref := range slices.Concat(s.AllOf, s.AnyOf, s.OneOf) {
		if ref != nil {
			out = append(out, writeOnlyPaths(ref.Value, at, seen)...)
		}
	}
	return out
}

// WriteOnlyValues returns the values (JSON text, strings unquoted) a customer document holds at
// the write-only paths, by path: empty for a document fit to be sent.
func WriteOnlyValues(c *contract.Contract, document []byte) (map[string][]string, error) {
	var value any
	if err := json.Unmarshal(document, &value); err != nil {
		return nil, fmt.Errorf("customer document: %w", err)
	}
	found := map[string][]string{}
	for _, p := range WriteOnly(c) {
		for _, v := range valuesAt(value, p) {
			s, ok := v.(string)
			if !ok {
				raw, _ := json.Marshal(v)
				s = string(raw)
			}
			found[p.String()] = append(found[p.String()], s)
		}
	}
	return found, nil
}

// valuesAt returns the values at path within a decoded JSON value.
func valuesAt(v any, path Path) []any {
	if len(path) == 0 {
		return []any{v}
	}
	switch x := v.(type) {
	case map[string]any:
		if child, ok := x[path[0]]; ok && path[0] != Items {
			return valuesAt(child, path[1:])
		}
	case []any:
		if path[0] == Items {
			var out []any
			for _, e := range x {
				out = append(out, valuesAt(e, path[1:])...)
			}
			return out
		}
	}
	return nil
}
