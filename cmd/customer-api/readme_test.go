package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
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
	all := allCommands(t, readme)
	flagName := regexp.MustCompile("`--([a-z0-9-]+)`")
	var flags []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		if !namesCommand(cells[4], command, all) {
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

// allCommands returns the commands docs/configuration.md says `all` stands for: the code spans
// of "`all` is every command ... (...)", with "tokens issue|list|revoke" written out.
func allCommands(t *testing.T, doc string) []string {
	t.Helper()
	m := regexp.MustCompile("`all` is every command[^(]*\\(([^)]*)\\)").FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("docs/configuration.md does not say which commands `all` is")
	}
	var all []string
	for _, span := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[1], -1) {
		words := strings.Fields(span[1])
		if len(words) == 2 {
			for _, sub := range strings.Split(words[1], "|") {
				all = append(all, words[0]+" "+sub)
			}
		} else {
			all = append(all, span[1])
		}
	}
	return all
}

// namesCommand reports whether a cell of the commands column names command; all is what `all`
// stands for.
func namesCommand(cell, command string, all []string) bool {
	for _, entry := range strings.Split(cell, ",") {
		words := strings.Fields(entry)
		switch {
		case len(words) == 0:
		case words[0] == "all":
			return slices.Contains(all, command)
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

// TestConfigurationAllIsEveryCommandThatTakesTheCommonFlags binds the list of commands that
// `all` stands for in docs/configuration.md to the program: a command is in it exactly when its
// -h lists the flags every data command takes, and every command the program has is either in
// it or answers -h without them.
func TestConfigurationAllIsEveryCommandThatTakesTheCommonFlags(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	all := allCommands(t, string(doc))
	for _, name := range all {
		if commandOf(strings.Fields(name)) == nil {
			t.Errorf("docs/configuration.md: `all` names %q, which is not a command with flags", name)
		}
	}
	for _, cmd := range commands {
		name := strings.Join(cmd, " ")
		usage, _, _ := runCmd(t, "", append(append([]string{}, cmd...), "-h")...)
		flags := helpFlags(usage)
		common := slices.Contains(flags, "data-dir") && slices.Contains(flags, "log-level")
		if common != slices.Contains(all, name) {
			t.Errorf("%s: takes the common flags: %v; docs/configuration.md's `all` names it: %v", name, common, !common)
		}
		if common != takesData(cmd) {
			t.Errorf("%s: takesData says %v, its -h %v", name, takesData(cmd), common)
		}
	}
}

// TestConfigurationShowsTheDefaults binds the default column of docs/configuration.md to the
// defaults -h shows: a changed default fails here until the table says it too.
func TestConfigurationShowsTheDefaults(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	all := allCommands(t, string(doc))
	span := regexp.MustCompile("`([^`]*)`")
	for _, cmd := range commands {
		name := strings.Join(cmd, " ")
		usage, _, _ := runCmd(t, "", append(append([]string{}, cmd...), "-h")...)
		shown := helpDefaults(usage)
		for _, line := range strings.Split(string(doc), "\n") {
			cells := strings.Split(line, "|")
			if len(cells) < 6 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") || !namesCommand(cells[4], name, all) {
				continue
			}
			flags := span.FindAllStringSubmatch(cells[1], -1)
			defaults := span.FindAllStringSubmatch(cells[3], -1)
			if len(defaults) != 0 && len(defaults) != len(flags) {
				t.Errorf("docs/configuration.md: the row of %s has %d defaults for %d flags", strings.TrimSpace(cells[1]), len(defaults), len(flags))
				continue
			}
			for i, f := range flags {
				flag := strings.TrimPrefix(f[1], "--")
				documented := ""
				if len(defaults) > 0 {
					documented = defaults[i][1]
				}
				if !sameDefault(documented, shown[flag]) {
					t.Errorf("%s --%s: docs/configuration.md's default is %q, -h shows %q", name, flag, documented, shown[flag])
				}
			}
		}
	}
}

// helpDefaults returns each flag's default as -h shows it ("" when it shows none).
func helpDefaults(usage string) map[string]string {
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+).*\n\s+\t.*?(?:\(default (.+)\))?$`).FindAllStringSubmatch(usage, -1) {
		defaults[m[1]] = m[2]
	}
	return defaults
}

// sameDefault compares a documented default with a shown one: quotes aside, durations by value,
// and the zero values the help leaves out ("", false, 0) equal to none.
func sameDefault(documented, shown string) bool {
	documented, shown = strings.Trim(documented, `"`), strings.Trim(shown, `"`)
	switch documented {
	case "false", "0":
		documented = ""
	}
	if documented == shown {
		return true
	}
	a, errA := time.ParseDuration(documented)
	b, errB := time.ParseDuration(shown)
	return errA == nil && errB == nil && a == b
}
