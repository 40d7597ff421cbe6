package server

import (
	"slices"
	"testing"
)

func TestDocsSpec(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		origins        []string
	}{
		{"relative servers come first, the rest keeps its order and bytes",
			"{\n  \"openapi\": \"3.0.3\",\n  \"servers\": [\n    {\"url\": \"https://gw.example/a\", \"description\": \"<&>\"},\n    {\"url\": \"/a\"}\n  ],\n  \"b\": 1\n}\n",
			`{"openapi":"3.0.3","servers":[{"url":"/a"},{"url":"https://gw.example/a","description":"<&>"}],"b":1}`,
			[]string{"https://gw.example"}},
		{"a document without servers is only compacted", "{\"a\": {\"servers\": [{\"url\": \"https://x.example\"}]}}",
			`{"a":{"servers":[{"url":"https://x.example"}]}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, origins, err := docsSpec([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || !slices.Equal(origins, tc.origins) {
				t.Errorf("got %s %q\nwant %s %q", got, origins, tc.want, tc.origins)
			}
		})
	}

	t.Run("a document that is not an object is refused", func(t *testing.T) {
		t.Parallel()
		if _, _, err := docsSpec([]byte("[]")); err == nil {
			t.Error("no error")
		}
	})
}
