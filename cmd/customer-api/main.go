// Command customer-api serves the customer API and administers its data.
//
//	customer-api serve   [--addr 127.0.0.1:8080] [--data-dir ./var] [--database DSN] [--dev] [--demo]
//	customer-api migrate [--data-dir ./var] [--database DSN]
//	customer-api import  --tenant ID --organization ID [--replace] [--dry-run] [--data-dir ./var] [--database DSN] FILE|-
//	customer-api tenants list [--json] | delete TENANT-ID
//	customer-api organizations list --tenant ID [--json] | delete --tenant ID ORGANIZATION-ID
//	customer-api customers delete --tenant ID CUSTOMER-ID...
//	customer-api tokens  issue --tenant ID [--name NAME] [--expires 720h] | list --tenant ID | revoke TOKEN-ID
//	customer-api dev-token --tenant ID [--scope customers:read] [--ttl 1h] [--data-dir ./var]
//	customer-api healthcheck [--addr 127.0.0.1:8080] [--path /readyz] [--timeout 2s]
//	customer-api version
//
// Every flag can also be set as CUSTOMER_API_<FLAG> (upper case, dashes as underscores).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

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

// commandInfo is what the help says of a command: its usage line (after "usage: customer-api")
// and what it does.
type commandInfo struct{ name, synopsis, summary string }

// commandList is every command, in the order of 'customer-api -h' and, for a group such as
// tokens, of 'customer-api tokens -h'.
var commandList = []commandInfo{
	{"serve", "serve [flags]", "serve the API (with --demo: load demo data into an empty database)"},
	{"migrate", "migrate [flags]", "bring the database schema to the newest version, saying which versions it applied"},
	{"import", "import --tenant ID --organization ID [flags] FILE|-", "load customers from a JSON array in the API's response format (--replace, --dry-run)"},
	{"tenants list", "tenants list [--json] [flags]", "list the tenants, with their organizations, customers and API tokens"},
	{"tenants delete", "tenants delete [flags] TENANT-ID", "erase a tenant: its customers, organizations and API tokens"},
	{"organizations list", "organizations list --tenant ID [--json] [flags]", "list a tenant's organizations, with their customers"},
	{"organizations delete", "organizations delete --tenant ID [flags] ORGANIZATION-ID", "erase an organization, and its customers that no other organization holds"},
	{"customers delete", "customers delete --tenant ID [flags] CUSTOMER-ID...", "erase customers of a tenant, with their secrets and memberships"},
	{"tokens issue", "tokens issue --tenant ID [--name NAME] [--expires 720h] [flags]", "issue an API token (the token header) for a tenant; it is printed this once only"},
	{"tokens list", "tokens list --tenant ID [--json] [flags]", "list a tenant's API tokens: id, name, created, expires, state (--json: a JSON array)"},
	{"tokens revoke", "tokens revoke [flags] TOKEN-ID|TOKEN", "revoke an API token by its id or the token itself"},
	{"dev-token", "dev-token --tenant ID [--scope S] [--ttl 1h] [flags]", "print an access token from the development issuer of 'serve --dev'"},
	{"healthcheck", "healthcheck [--addr HOST:PORT] [--path /readyz] [--timeout 2s]", "exit 0 if the server at --addr is ready (GET /readyz), else 1: a container health check"},
	{"version", "version", "print the version and VCS revision of this binary (also --version)"},
}

// about returns the entry of commandList named name.
func about(name string) commandInfo {
	return commandList[slices.IndexFunc(commandList, func(c commandInfo) bool { return c.name == name })]
}

// commandTable lists the commands whose name starts with prefix ("" for all, "tokens " for a
// group's, without the prefix), one a line, their summaries in one column.
func commandTable(prefix string) string {
	width := 0
	for _, c := range commandList {
		if strings.HasPrefix(c.name, prefix) {
			width = max(width, len(c.name)-len(prefix))
		}
	}
	var b strings.Builder
	for _, c := range commandList {
		if name, ok := strings.CutPrefix(c.name, prefix); ok {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, name, c.summary)
		}
	}
	return b.String()
}

// usage is the help of 'customer-api -h'.
func usage() string {
	return "usage: customer-api <command> [flags]\n\ncommands:\n" + commandTable("") +
		"\nRun 'customer-api <command> -h' for its flags."
}

// run is the whole program, with its standard streams passed in, so tests can run it in-process.
// Its environment variables are the process's: ff reads those of the flags, and OpenTelemetry's
// exporters the OTEL_* ones, so a test that sets one uses t.Setenv.
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

// command runs the command args[0].
func command(ctx context.Context, env environment, args []string) error {
	switch args[0] {
	case "serve":
		return serve(ctx, env, args[1:])
	case "migrate":
		return migrate(ctx, env, args[1:])
	case "import":
		return importFile(ctx, env, args[1:])
	case "tenants":
		return group(ctx, env, args, map[string]subcommand{"list": tenantsList, "delete": tenantsDelete})
	case "organizations":
		return group(ctx, env, args, map[string]subcommand{"list": organizationsList, "delete": organizationsCommand})
	case "customers":
		return group(ctx, env, args, map[string]subcommand{"delete": customersCommand})
	case "tokens":
		return group(ctx, env, args, map[string]subcommand{"issue": tokensCommand, "list": tokensCommand, "revoke": tokensCommand})
	case "dev-token":
		return devTokenCommand(env, args[1:])
	case "healthcheck":
		return healthcheck(ctx, env, args[1:])
	case "version", "--version":
		return version(env, args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(env.stdout, usage())
		return nil
	}
	fmt.Fprintln(env.stderr, usage())
	return usageError{fmt.Sprintf("unknown command %q: see the commands above", args[0])}
}

// version prints the build of this binary. One built without a VCS stamp says so on stderr,
// and how to get one that has it.
func version(env environment, args []string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
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

// unstampedHint says why a binary may not know its revision, and how to build one that does.
const unstampedHint = "A binary built by go run or go test carries no VCS stamp: its revision is unknown. " +
	"'make build' and 'make run' stamp it (or: go build in a git checkout)."

// environment is what a command may touch of the outside world.
type environment struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}
