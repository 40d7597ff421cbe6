package customerapi

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeLayoutIsTheTree binds the README's layout table to the tree: every package under
// impl/ and cmd/ and every top-level folder has a row (or a row inside it), and every path a
// row names exists.
func TestReadmeLayoutIsTheTree(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start, end := strings.Index(section, "## Layout"), strings.Index(section, "## Changing the contract")
	if start < 0 || end < start {
		t.Fatal("README.md has no Layout section before Changing the contract")
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(section[start:end], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[1], -1) {
			rows[strings.TrimSuffix(m[1], "/")] = true
		}
	}

	var want []string
	for _, pattern := range []string{"impl/*", "cmd/*", "*"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if info, err := os.Stat(m); err == nil && info.IsDir() && !ignored(m) {
				want = append(want, m)
			}
		}
	}
	for _, dir := range want {
		if !covered(rows, dir) {
			t.Errorf("README.md's layout has no row for %s/", dir)
		}
	}
	for path := range rows {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("README.md's layout names %s, which does not exist", path)
		}
	}
}

// covered reports whether a row names dir or a path inside it (impl/ by impl/api).
func covered(rows map[string]bool, dir string) bool {
	for path := range rows {
		if path == dir || strings.HasPrefix(path, dir+"/") {
			return true
		}
	}
	return false
}

// ignored reports whether a folder is not the project's own: hidden, or made by a build.
func ignored(dir string) bool {
	switch dir {
	case "bin", "var", "node_modules", "test-output":
		return true
	}
	return strings.HasPrefix(filepath.Base(dir), ".")
}
