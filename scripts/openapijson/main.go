// Command openapijson writes openapi.json, the contract as JSON, from openapi.yaml: the same
// document with the mapping keys in the YAML's order, indented by two spaces. The output depends
// on the input alone, so `make check-generated` can regenerate it and compare. `make generate`
// runs it through the //go:generate line in openapi.go.
//
//	go run ./scripts/openapijson openapi.yaml openapi.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapijson IN.yaml OUT.json")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "openapijson:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	converted, err := yamlToJSON(raw)
	if err != nil {
		return fmt.Errorf("convert %s: %w", in, err)
	}
	return os.WriteFile(out, converted, 0o644)
}

// yamlToJSON converts a YAML document to indented JSON, keeping the order of mapping keys (a
// generic map would sort them, and the JSON would read differently from the YAML).
func yamlToJSON(in []byte) ([]byte, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(in, &root); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, &root); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document, have %d nodes", n.Line, len(n.Content))
		}
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			if key.Kind != yaml.ScalarNode || key.Tag == "!!merge" {
				return fmt.Errorf("line %d: only scalar mapping keys are supported", key.Line)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeValue(buf, key.Value); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeJSON(buf, value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		if n.Tag == "!!timestamp" {
			// A bare date stays the string it is in the YAML, as JSON Schema reads it.
			return writeValue(buf, n.Value)
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		return writeValue(buf, v)
	}
	return fmt.Errorf("line %d: unsupported YAML node kind %d", n.Line, n.Kind)
}

// writeValue writes one JSON value without HTML escaping (`PEP&SANCTION` stays readable).
func writeValue(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
