// Command customer-api serves the customer API and administers its data; `customer-api -h`
// lists its commands. Every flag can also be set as CUSTOMER_API_<FLAG>.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cyrexa/customer-api/impl/buildinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customer-api:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks a command line the program cannot act on; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

// environment is what a command may touch of the outside world.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commandInfo is what the help says of a command: its usage line and what it does; run runs
// it, with args starting with its name.
type commandInfo struct {
	name, synopsis, summary string
	run                     func(ctx context.Context, env environment, args []string) error
}

// commandList is every command, in the order of 'customer-api -h' and of a group's -h.
var commandList []commandInfo

func init() { // commandList refers to commands whose help reads it
	commandList = []commandInfo{
		{"serve", "serve [flags]", "serve the API (with --demo: load demo data into an empty database)", serve},
		{"migrate", "migrate [flags]", "bring the database schema to the newest version, saying which versions it applied", migrate},
		{"import", "import --tenant ID --organization ID [flags] FILE|-", "load customers from a JSON array in the API's response format (--replace, --dry-run)", importFile},
		{"tenants list", "tenants list [--json] [flags]", "list the tenants, with their organizations, customers and API tokens", tenantsList},
		{"tenants delete", "tenants delete [flags] TENANT-ID", "erase a tenant: its customers, organizations and API tokens", tenantsDelete},
		{"organizations list", "organizations list --tenant ID [--json] [flags]", "list a tenant's organizations, with their customers", organizationsList},
		{"organizations delete", "organizations delete --tenant ID [flags] ORGANIZATION-ID", "erase an organization, and its customers that no other organization holds", organizationsDelete},
		{"customers delete", "customers delete --tenant ID [flags] CUSTOMER-ID...", "erase customers of a tenant, with their secrets and memberships", customersDelete},
		{"tokens issue", "tokens issue --tenant ID [--name NAME] [--expires 720h] [flags]", "issue an API token (the token header) for a tenant; it is printed this once only", tokensIssue},
		{"tokens list", "tokens list --tenant ID [--json] [flags]", "list a tenant's API tokens: id, name, created, expires, state (--json: a JSON array)", tokensList},
		{"tokens revoke", "tokens revoke [flags] TOKEN-ID|TOKEN", "revoke an API token by its id or the token itself", tokensRevoke},
		{"dev-token", "dev-token --tenant ID [--scope S] [--ttl 1h] [flags]", "print an access token from the development issuer of 'serve --dev'", devTokenCommand},
		{"healthcheck", "healthcheck [--addr HOST:PORT] [--path /readyz] [--timeout 2s]", "exit 0 if the server at --addr is ready (GET /readyz), else 1: a container health check", healthcheck},
		{"version", "version", "print the version and VCS revision of this binary (also --version)", version},
	}
}

// about returns the entry of commandList named name.
func about(name string) commandInfo {
	return commandList[slices.IndexFunc(commandList, func(c commandInfo) bool { return c.name == name })]
}

// commandTable lists the commands named prefix..., without the prefix, summaries in one column.
func commandTable(prefix string) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, c := range commandList {
		if name, ok := strings.CutPrefix(c.name, prefix); ok {
			fmt.Fprintf(w, "  %s\t%s\n", name, c.summary)
		}
	}
	w.Flush()
	return b.String()
}

// usage is the help of 'customer-api -h'.
func usage() string {
	return "usage: customer-api <command> [flags]\n\ncommands:\n" + commandTable("") +
		"\nRun 'customer-api <command> -h' for its flags."
}

// run is the whole program, with its streams passed in so tests run it in-process; ff and
// OpenTelemetry read the process's environment.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage())
		return usageError{"no command given"}
	}
	env := environment{stdin: stdin, stdout: stdout, stderr: stderr}
	if err := command(ctx, env, args); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

// command runs the command args[0], or the group's command args[1].
func command(ctx context.Context, env environment, args []string) error {
	switch args[0] {
	case "--version":
		return version(ctx, env, args)
	case "help", "-h", "--help":
		fmt.Fprintln(env.stdout, usage())
		return nil
	}
	for _, c := range commandList {
		if c.name == args[0] {
			return c.run(ctx, env, args)
		}
	}
	if slices.ContainsFunc(commandList, func(c commandInfo) bool { return strings.HasPrefix(c.name, args[0]+" ") }) {
		return group(ctx, env, args)
	}
	fmt.Fprintln(env.stderr, usage())
	return usageError{fmt.Sprintf("unknown command %q: see the commands above", args[0])}
}

// group runs `NAME SUBCOMMAND [flags]`: -h prints the group's commands to stdout; no command or
// an unknown one prints them to stderr, a usage error.
func group(ctx context.Context, env environment, args []string) error {
	name := args[0]
	var names []string
	var synopses strings.Builder
	for _, c := range commandList {
		if sub, ok := strings.CutPrefix(c.name, name+" "); ok {
			names = append(names, sub)
			fmt.Fprintf(&synopses, "  customer-api %s\n", c.synopsis)
		}
	}
	groupUsage := fmt.Sprintf("usage:\n%s\ncommands:\n%s\nRun 'customer-api %s <command> -h' for all the flags of a command.",
		synopses.String(), commandTable(name+" "), name)
	if len(args) < 2 {
		fmt.Fprintln(env.stderr, groupUsage)
		return usageError{fmt.Sprintf("%s: name a command: %s", name, orList(names))}
	}
	switch sub := args[1]; {
	case sub == "-h" || sub == "--help" || sub == "help":
		fmt.Fprintln(env.stdout, groupUsage)
		return nil
	case slices.Contains(names, sub):
		return about(name+" "+sub).run(ctx, env, args[1:])
	default:
		fmt.Fprintln(env.stderr, groupUsage)
		return usageError{fmt.Sprintf("unknown %s command %q: want %s", name, sub, orList(names))}
	}
}

// version prints the build of this binary; one without a VCS stamp says so on stderr.
func version(_ context.Context, env environment, args []string) error {
	if len(args) > 1 {
		if args[1] == "-h" || args[1] == "--help" || args[1] == "help" {
			fmt.Fprintf(env.stdout, "usage: customer-api version\n\n%s.\n%s\n", about("version").summary, unstampedHint)
			return nil
		}
		return usageError{"usage: customer-api version (it takes no flags or arguments)"}
	}
	build := buildinfo.Read()
	fmt.Fprintln(env.stdout, "customer-api", build)
	if !build.Stamped() {
		fmt.Fprintln(env.stderr, "customer-api: "+unstampedHint)
	}
	return nil
}

const unstampedHint = "A binary built by go run or go test carries no VCS stamp: its revision is unknown. " +
	"'make build' and 'make run' stamp it (or: go build in a git checkout)."

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// plural counts things in English: "1 customer", "2 customers".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// shortDuration writes a duration as a person would: 24h, 90m, 1h30m, not 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// printList writes items as an indented JSON array, or as a table: header, then a row of cells
// an item (tabs between the header's cells).
func printList[T, J any](env environment, asJSON bool, items []T, header string, each func(T) (J, []any)) error {
	if asJSON {
		out := make([]J, 0, len(items))
		for _, item := range items {
			j, _ := each(item)
			out = append(out, j)
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, item := range items {
		_, cells := each(item)
		fmt.Fprintf(w, strings.TrimSuffix(strings.Repeat("%v\t", len(cells)), "\t")+"\n", cells...)
	}
	return w.Flush()
}
