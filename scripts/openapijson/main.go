// Command openapijson writes openapi.json from openapi.yaml: the same document, keys in the
// YAML's order, indented by two spaces, so `make check-generated` can compare it.
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

// yamlToJSON converts a YAML document to indented JSON, keeping the order of mapping keys.
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
	case yaml.DocumentNode: // yaml.Unmarshal puts exactly one node in it
		return writeJSON(buf, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	case yaml.MappingNode, yaml.SequenceNode:
		// A mapping's Content alternates keys and values; a sequence's holds values only.
		brackets, step := "[]", 1
		if n.Kind == yaml.MappingNode {
			brackets, step = "{}", 2
		}
		buf.WriteByte(brackets[0])
		for i := 0; i < len(n.Content); i += step {
			if i > 0 {
				buf.WriteByte(',')
			}
			if key := n.Content[i]; step == 2 {
				if key.Kind != yaml.ScalarNode || key.Tag == "!!merge" {
					return fmt.Errorf("line %d: only scalar mapping keys are supported", key.Line)
				}
				if err := writeValue(buf, key.Value); err != nil {
					return err
				}
				buf.WriteByte(':')
			}
			if err := writeJSON(buf, n.Content[i+step-1]); err != nil {
				return err
			}
		}
		buf.WriteByte(brackets[1])
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
