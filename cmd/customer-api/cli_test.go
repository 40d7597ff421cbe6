package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cyrexa/customer-api/impl/auth"
)

// commands are every command and subcommand with flags of its own.
var commands = [][]string{
	{"serve"}, {"migrate"}, {"import"}, {"dev-token"},
	{"tokens", "issue"}, {"tokens", "list"}, {"tokens", "revoke"},
	{"tenants", "list"}, {"tenants", "delete"},
	{"customers", "delete"}, {"organizations", "list"}, {"organizations", "delete"},
	{"healthcheck"},
}

// takesData reports whether a command takes the flags of every command that works on data
// (--data-dir, --database, --log-level, ...: "all" in docs/configuration.md).
func takesData(cmd []string) bool { return cmd[0] != "healthcheck" }

func TestEveryCommandAnswersHelpWithItsFlagsAndExitsZero(t *testing.T) {
	t.Parallel()
	for _, cmd := range commands {
		for _, help := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), help)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Parallel()
				stdout, stderr, err := runCmd(t, "", args...)
				if err != nil {
					t.Fatalf("err = %v; want none (exit 0)", err)
				}
				if stderr != "" {
					t.Errorf("stderr = %q; want help on stdout only", stderr)
				}
				if !strings.HasPrefix(stdout, "usage: customer-api "+strings.Join(cmd, " ")) {
					t.Errorf("help does not start with its usage line:\n%s", stdout)
				}
				for _, f := range []string{"-data-dir", "-database", "-log-level"} {
					if takesData(cmd) && !strings.Contains(stdout, "  "+f+" ") {
						t.Errorf("help lacks %s:\n%s", f, stdout)
					}
				}
			})
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"tokens", "-h"}, {"tokens", "--help"},
		{"tenants", "-h"}, {"organizations", "-h"}, {"customers", "-h"}, {"customers", "--help"}, {"organizations", "help"}} {
		t.Run(strings.Join(args, " ")+" lists the commands", func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runCmd(t, "", args...)
			if err != nil || !strings.Contains(stdout, "commands:") || stderr != "" {
				t.Fatalf("err = %v, stderr %q, stdout:\n%s", err, stderr, stdout)
			}
		})
	}
}

func TestVersionPrintsTheBuild(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		stdout, _, err := runCmd(t, "", arg)
		if err != nil || !strings.HasPrefix(stdout, "customer-api ") || !strings.Contains(stdout, "(revision ") {
			t.Errorf("%s: %q, %v", arg, stdout, err)
		}
	}
}

func TestLogLevelIsCheckedByEveryCommand(t *testing.T) {
	t.Parallel()
	for _, cmd := range commands {
		if !takesData(cmd) {
			continue
		}
		args := append(append([]string{}, cmd...), "--log-level", "loud", "--data-dir", t.TempDir())
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			t.Parallel()
			_, stderr, err := runCmd(t, "", args...)
			if exitCode(err) != 2 || !strings.Contains(err.Error(), "-log-level") || !strings.Contains(err.Error(), "want debug, info, warn or error") {
				t.Fatalf("err = %v (exit %d); want a usage error that names --log-level", err, exitCode(err))
			}
			if stderr != "" {
				t.Errorf("stderr = %q; the error is printed once, by main", stderr)
			}
		})
	}
}

func TestDevTokenAcceptsTheFlagsOfAllCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := auth.LoadDevKey(dir); err != nil { // as `serve --dev` does
		t.Fatal(err)
	}
	stdout, _, err := runCmd(t, "", "dev-token", "--data-dir", dir, "--database", dir+"/customers.db", "--log-level", "debug", "--tenant", "t1")
	if err != nil || strings.Count(stdout, ".") != 2 {
		t.Fatalf("dev-token: %q, %v", stdout, err)
	}
}

func TestMessagesNameTheFlagAndWhatToDo(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"a host-less --dev address", []string{"serve", "--dev", "--addr", ":18084"}, `--addr ":18084" has no host, so it listens on every interface; --dev needs a loopback host: use --addr 127.0.0.1:18084`},
		{"a non-loopback --dev address", []string{"serve", "--dev", "--addr", "0.0.0.0:8080"}, "--dev needs a loopback host"},
		{"too much leeway", []string{"serve", "--dev", "--jwt-leeway", "2m"}, "--jwt-leeway 2m0s: at most 1m0s"},
		{"a missing import file", []string{"import", "--tenant", "t", "--organization", "o", "/nope.json"}, "open /nope.json: no such file or directory"},
		{"an unknown flag", []string{"migrate", "--nope"}, "run 'customer-api migrate -h' for its flags"},
		{"an unknown tokens command", []string{"tokens", "show"}, `unknown tokens command "show": want issue, list or revoke`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := slices.Concat(tc.args[:1], []string{"--data-dir", t.TempDir()}, tc.args[1:])
			if tc.args[0] == "tokens" {
				args = tc.args
			}
			_, _, err := runCmd(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tc.want)
			}
			if msg := err.Error(); strings.Count(msg, "/nope.json") > 1 {
				t.Errorf("the message repeats itself: %s", msg)
			}
		})
	}
}

func TestTokensListPrintsAHeaderAndJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// tokens needs a database that holds data.
	if _, _, err := runCmd(t, "[]", "import", "--data-dir", dir, "--tenant", "t1", "--organization", "o1", "-"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, "", "tokens", "issue", "--data-dir", dir, "--tenant", "t1", "--name", "ci"); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCmd(t, "", "tokens", "list", "--data-dir", dir, "--tenant", "t1")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err != nil || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], "ci") || !strings.HasSuffix(lines[1], "active") {
		t.Fatalf("tokens list: %v\n%s", err, stdout)
	}
	stdout, _, err = runCmd(t, "", "tokens", "list", "--json", "--data-dir", dir, "--tenant", "t1")
	var list []tokenJSON
	if err != nil || json.Unmarshal([]byte(stdout), &list) != nil || len(list) != 1 || list[0].Name != "ci" || list[0].State != "active" || list[0].ExpiresAt == "" {
		t.Fatalf("tokens list --json: %v\n%s", err, stdout)
	}
	stdout, stderr, err := runCmd(t, "", "tokens", "list", "--data-dir", dir, "--tenant", "nobody")
	if err != nil || strings.TrimSpace(stdout) != "ID  NAME  CREATED  EXPIRES  STATE" || !strings.Contains(stderr, `no API tokens for tenant "nobody"`) {
		t.Fatalf("an unknown tenant: %v, stdout %q, stderr %q", err, stdout, stderr)
	}
}

func TestABadValueSaysWhatKindOfValueIsWanted(t *testing.T) {
	_, _, err := runCmd(t, "", "dev-token", "--tenant", "t", "--ttl", "soon")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `invalid value "soon" for flag -ttl: want a duration such as 30s, 5m or 1h`) {
		t.Errorf("command line: %v", err)
	}
	t.Setenv("CUSTOMER_API_RATE_BURST", "many")
	_, _, err = runCmd(t, "", "serve", "--dev")
	if exitCode(err) != 2 || !strings.HasPrefix(err.Error(), `error setting flag "rate-burst" from environment variable "CUSTOMER_API_RATE_BURST": want a whole number`) {
		t.Errorf("environment: %v", err)
	}
}

// TestConfigurationShowsTheDefaults binds the default column of docs/configuration.md to the
// defaults -h shows: a changed default fails here until the table says it too.
func TestConfigurationShowsTheDefaults(t *testing.T) {
	doc := mustRead(t, "../../docs/configuration.md")
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
