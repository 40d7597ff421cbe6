package main

import (
	"testing"
)

func TestYAMLToJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"keys keep their order", "b: 1\na: 2\n", "{\n  \"b\": 1,\n  \"a\": 2\n}\n"},
		{"quoted and bare scalars keep their types", "s: '42'\nn: 42\nf: 1.5\nt: true\nz: null\n",
			"{\n  \"s\": \"42\",\n  \"n\": 42,\n  \"f\": 1.5,\n  \"t\": true,\n  \"z\": null\n}\n"},
		{"numeric keys become strings", "200: ok\n", "{\n  \"200\": \"ok\"\n}\n"},
		{"a bare date stays a string", "d: 2024-01-02\n", "{\n  \"d\": \"2024-01-02\"\n}\n"},
		{"HTML characters are not escaped", "e: PEP&SANCTION <x>\n", "{\n  \"e\": \"PEP&SANCTION <x>\"\n}\n"},
		{"aliases are expanded", "a: &x [1, 2]\nb: *x\n", "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": [\n    1,\n    2\n  ]\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := yamlToJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	t.Run("merge keys are refused rather than mistranslated", func(t *testing.T) {
		if _, err := yamlToJSON([]byte("a: &x {k: 1}\nb:\n  <<: *x\n")); err == nil {
			t.Error("no error")
		}
	})
}
