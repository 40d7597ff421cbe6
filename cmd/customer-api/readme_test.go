package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryServeFlag binds the README's configuration table to the flags serve
// defines: a flag added without a row, or a row left behind by a removed flag, fails here.
func TestReadmeDocumentsEveryServeFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := readmeFlags(t, string(readme), "serve")
	stdout, _, _ := runCmd(t, "", "serve", "--help")
	defined := helpFlags(stdout)
	if len(defined) == 0 {
		t.Fatalf("serve --help lists no flags:\n%s", stdout)
	}
	for _, f := range defined {
		if !slices.Contains(documented, f) {
			t.Errorf("serve defines --%s, which the README's configuration table does not document", f)
		}
	}
	for _, f := range documented {
		if !slices.Contains(defined, f) {
			t.Errorf("the README documents --%s for serve, which serve does not define", f)
		}
	}
}

// readmeFlags returns the flags of the README's configuration table whose commands column names
// the command or "all".
func readmeFlags(t *testing.T, readme, command string) []string {
	t.Helper()
	start := strings.Index(readme, "## Configuration")
	if start < 0 {
		t.Fatal("the README has no Configuration section")
	}
	section := readme[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	var flags []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		commands := strings.TrimSpace(cells[4])
		if commands != "all" && !slices.Contains(strings.FieldsFunc(commands, func(r rune) bool { return r == ',' || r == ' ' }), command) {
			continue
		}
		for _, m := range flagName.FindAllStringSubmatch(cells[1], -1) {
			flags = append(flags, m[1])
		}
	}
	return flags
}

// helpFlags returns the flags the flag package's usage lists ("  -name value").
func helpFlags(usage string) []string {
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage, -1) {
		flags = append(flags, m[1])
	}
	return flags
}
