package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryFlag binds the configuration table (docs/configuration.md, which the
// README points to) to the flags each command defines (as its -h lists them): a flag added without a row, or a row left behind by a removed
// flag, fails here.
func TestReadmeDocumentsEveryFlag(t *testing.T) {
	readme := mustRead(t, "../../docs/configuration.md")
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
	readme := mustRead(t, "../../README.md")
	makefile := mustRead(t, "../../Makefile")
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
	doc := mustRead(t, "../../docs/configuration.md")
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

// TestReadmeShowsWhatServePrints binds the start output the README shows to what
// `serve --dev --demo` prints, line by line, with this test's addresses written as the README's
// and the curl's tokens compared by their shape.
func TestReadmeShowsWhatServePrints(t *testing.T) {
	readme := mustRead(t, "../../README.md")
	block := regexp.MustCompile("(?s)```\n(customer-api metrics on .*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("README.md shows no start output (a block that starts with \"customer-api metrics on\")")
	}
	shown := strings.Split(strings.TrimSuffix(string(block[1]), "\n"), "\n")

	s := startServe(t, curlLine, "--dev", "--demo", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	metrics := regexp.MustCompile(`^customer-api metrics on http://(\S+)/metrics$`).FindStringSubmatch(s.lines[0])
	if metrics == nil {
		t.Fatalf("the first line is not the metrics URL: %q", s.lines[0])
	}
	printed := make([]string, len(s.lines))
	for i, line := range s.lines {
		// With the slashes around them, so that one port cannot be taken for the start of the other.
		line = strings.ReplaceAll(line, s.base+"/", "http://127.0.0.1:8080/")
		printed[i] = strings.ReplaceAll(line, "//"+metrics[1]+"/", "//127.0.0.1:9464/")
	}
	curlShape := regexp.MustCompile(`^  curl -s -H 'Authorization: Bearer eyJ\S+' -H 'token: cat_\S+' -H 'tenantId: tenant-demo' (\S+)$`)
	if len(printed) != len(shown) {
		t.Fatalf("serve printed %d lines, the README shows %d:\n%s\n---\n%s", len(printed), len(shown), strings.Join(printed, "\n"), strings.Join(shown, "\n"))
	}
	for i := range printed {
		p, r := curlShape.FindStringSubmatch(printed[i]), curlShape.FindStringSubmatch(shown[i])
		switch {
		case p != nil && r != nil && p[1] == r[1]:
		case printed[i] != shown[i]:
			t.Errorf("line %d: serve prints\n  %q\nthe README shows\n  %q", i+1, printed[i], shown[i])
		}
	}
}

// TestReadmeMakeRunIsTheMakefiles binds what the README says of make run to the Makefile: the
// variables it shows are the Makefile's, and make run builds the stamped binary (not go run,
// which stamps nothing) and passes them to serve.
func TestReadmeMakeRunIsTheMakefiles(t *testing.T) {
	readme := mustRead(t, "../../README.md")
	makefile := mustRead(t, "../../Makefile")
	vars := 0
	for _, m := range regexp.MustCompile(`make [a-z-]+((?: [A-Z_]+=\S+)+)`).FindAllSubmatch(readme, -1) {
		for _, v := range regexp.MustCompile(`([A-Z_]+)=`).FindAllSubmatch(m[1], -1) {
			vars++
			if !regexp.MustCompile(`(?m)^` + string(v[1]) + ` \?= `).Match(makefile) {
				t.Errorf("the README sets %s for make, which the Makefile has no variable for", v[1])
			}
		}
	}
	if vars == 0 {
		t.Fatal("the README shows no make variable: the pattern no longer matches it")
	}
	for _, claim := range []string{"metrics on 127.0.0.1:9464", "`make build` and `make run` stamp the revision", "`go test` prints `unknown`"} {
		if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), claim) {
			t.Errorf("the README no longer says %q", claim)
		}
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	cmd := exec.Command("make", "-n", "run", "ADDR=127.0.0.1:1", "METRICS_ADDR=127.0.0.1:2")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^go build .*-ldflags '.*buildinfo\.revision=.*-o bin/customer-api \./cmd/customer-api$`).Match(out) {
		t.Errorf("make run does not build bin/customer-api stamped with the revision:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^bin/customer-api serve --dev --demo --addr 127\.0\.0\.1:1 --metrics-addr 127\.0\.0\.1:2$`).Match(out) {
		t.Errorf("make run does not serve with ADDR and METRICS_ADDR:\n%s", out)
	}
	if strings.Contains(string(out), "go run") {
		t.Errorf("make run uses go run, which stamps no revision:\n%s", out)
	}
}

// TestVersionSaysWhenItCannotKnow: a test binary carries no VCS stamp, so version says unknown
// on stdout and, on stderr, how to build one that knows (as the README says).
func TestVersionSaysWhenItCannotKnow(t *testing.T) {
	stdout, stderr, err := runCmd(t, "", "version")
	if err != nil || !strings.Contains(stdout, "(revision unknown, ") || !strings.Contains(stderr, "'make build' and 'make run' stamp it") {
		t.Errorf("version: %v, stdout %q, stderr %q", err, stdout, stderr)
	}
}

// TestEveryCommandIsInTheDocs: each command of `customer-api -h` is in the README's layout row
// of cmd/customer-api and shown in the README or docs/ (as `customer-api NAME …` or `NAME …`),
// and the layout row names no command the program lacks.
func TestEveryCommandIsInTheDocs(t *testing.T) {
	readme := mustRead(t, "../../README.md")
	all := string(readme)
	docs, _ := filepath.Glob("../../docs/*.md")
	for _, d := range docs {
		b := mustRead(t, d)
		all += string(b)
	}
	row := lineWith(string(readme), "| `cmd/customer-api`")
	layout := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(row, -1) {
		layout[m[1]] = true
	}
	tops := map[string]bool{}
	for _, c := range commandList {
		top := strings.Fields(c.name)[0]
		tops[top] = true
		if !layout[top] {
			t.Errorf("the README's layout row of cmd/customer-api does not name %s", top)
		}
		if !strings.Contains(all, "customer-api "+c.name) && !strings.Contains(all, "`"+c.name) {
			t.Errorf("neither the README nor docs/ show %q", c.name)
		}
	}
	for name := range layout {
		if name != "customerctl" && !tops[name] {
			t.Errorf("the README's layout row names %s, which is no command", name)
		}
	}
}

// lineWith returns the first line of doc that contains s.
func lineWith(doc, s string) string {
	for _, line := range strings.Split(doc, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// mustRead returns the file at path, failing the test when it cannot be read.
func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
