package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryFlag binds the configuration table (docs/configuration.md, which the
// README points to) to the flags each command defines (as its -h lists them): a flag added without a row, or a row left behind by a removed
// flag, fails here.
func TestReadmeDocumentsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range commands {
		name := strings.Join(cmd, " ")
		t.Run(name, func(t *testing.T) {
			documented := readmeFlags(t, string(readme), name)
			stdout, _, _ := runCmd(t, "", append(append([]string{}, cmd...), "--help")...)
			defined := helpFlags(stdout)
			if len(defined) == 0 {
				t.Fatalf("%s --help lists no flags:\n%s", name, stdout)
			}
			for _, f := range defined {
				if !slices.Contains(documented, f) {
					t.Errorf("%s defines --%s, which docs/configuration.md does not document for it", name, f)
				}
			}
			for _, f := range documented {
				if !slices.Contains(defined, f) {
					t.Errorf("docs/configuration.md documents --%s for %s, which it does not define", f, name)
				}
			}
		})
	}
}

// readmeFlags returns the flags of the configuration table whose commands column names
// the command: "all" (and words after it), the command itself ("tokens list"), its command
// ("tokens" for every tokens subcommand), or the command with a note ("serve --demo").
func readmeFlags(t *testing.T, readme, command string) []string {
	t.Helper()
	start := strings.Index(readme, "# Configuration")
	if start < 0 {
		t.Fatal("docs/configuration.md has no Configuration heading")
	}
	section := readme[start:]
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	var flags []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		if !namesCommand(cells[4], command) {
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

// namesCommand reports whether a cell of the commands column names command.
func namesCommand(cell, command string) bool {
	for _, entry := range strings.Split(cell, ",") {
		words := strings.Fields(entry)
		switch {
		case len(words) == 0:
		case words[0] == "all":
			return true
		case strings.Join(words, " ") == command:
			return true
		case strings.HasPrefix(command, words[0]+" ") && len(words) == 1:
			return true // "tokens": every tokens subcommand
		case words[0] == command && len(words) > 1 && strings.HasPrefix(words[1], "--"):
			return true // "serve --demo": serve, when given --demo
		}
	}
	return false
}

// TestReadmeShowsOnlyRealCommands binds the commands the README shows to the code: every
// `make <target>` is a target of the Makefile (and every target `make help` lists is named),
// and every `customer-api <command> --flag` (or
// `go run ./cmd/customer-api …`) is a command whose -h lists each flag shown. The commands
// themselves are run by the tests of each command (and `make run`'s curl by
// TestServeDemoPrintsACurlThatWorks).
func TestReadmeShowsOnlyRealCommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	targets := 0
	for _, m := range regexp.MustCompile("(?m)(?:`|^)make ([a-z][a-z-]*)").FindAllStringSubmatch(string(readme), -1) {
		targets++
		if !regexp.MustCompile("(?m)^" + regexp.QuoteMeta(m[1]) + ":").Match(makefile) {
			t.Errorf("the README shows `make %s`, which the Makefile has no target for", m[1])
		}
	}
	invocation := regexp.MustCompile("(?:go run ./cmd/)?customer-api ([^`\n]*)")
	flagName := regexp.MustCompile(`(?:^| |\[)--?([a-z][a-z-]*)`)
	shown := 0
	for _, m := range invocation.FindAllStringSubmatch(string(readme), -1) {
		cmd := commandOf(strings.Fields(m[1]))
		if cmd == nil {
			continue // prose: "customer-api listening on …"
		}
		shown++
		usage, _, _ := runCmd(t, "", append(append([]string{}, cmd...), "-h")...)
		defined := helpFlags(usage)
		for _, f := range flagName.FindAllStringSubmatch(m[1], -1) {
			if f[1] != "h" && f[1] != "help" && !slices.Contains(defined, f[1]) {
				t.Errorf("the README shows `%s`: %s defines no --%s", strings.TrimSpace(m[0]), strings.Join(cmd, " "), f[1])
			}
		}
	}
	// And the other way: the README names every target `make help` lists.
	for _, m := range regexp.MustCompile(`(?m)^([a-z-]+):.*## `).FindAllStringSubmatch(string(makefile), -1) {
		if m[1] != "help" && !strings.Contains(string(readme), "`"+m[1]+"`") {
			t.Errorf("the Makefile has a target %s that the README does not name", m[1])
		}
	}
	if targets < 2 || shown < 2 {
		t.Fatalf("found %d make targets and %d customer-api commands in the README: the patterns no longer match it", targets, shown)
	}
}

// commandOf returns the command (of commands) that words start with, or nil.
func commandOf(words []string) []string {
	for _, cmd := range commands {
		if len(words) >= len(cmd) && slices.Equal(words[:len(cmd)], cmd) {
			return cmd
		}
	}
	return nil
}
