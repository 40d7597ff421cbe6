package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// subcommand runs one command of a group (tokens, tenants, ...); args start with its name.
type subcommand func(ctx context.Context, env environment, args []string) error

// group runs `NAME SUBCOMMAND [flags]` (args[0] is NAME): -h and help print the group's
// commands to stdout; no command or an unknown one prints them to stderr, a usage error.
func group(ctx context.Context, env environment, args []string, subs map[string]subcommand) error {
	name := args[0]
	var names []string
	var synopsisLines strings.Builder
	for _, c := range commandList {
		if sub, ok := strings.CutPrefix(c.name, name+" "); ok && subs[sub] != nil {
			names = append(names, sub)
			fmt.Fprintf(&synopsisLines, "  customer-api %s\n", c.synopsis)
		}
	}
	groupUsage := fmt.Sprintf("usage:\n%s\ncommands:\n%s\nRun 'customer-api %s <command> -h' for all the flags of a command.",
		synopsisLines.String(), commandTable(name+" "), name)
	if len(args) < 2 {
		fmt.Fprintln(env.stderr, groupUsage)
		return usageError{fmt.Sprintf("%s: name a command: %s", name, orList(names))}
	}
	switch sub := args[1]; sub {
	case "-h", "--help", "help":
		fmt.Fprintln(env.stdout, groupUsage)
		return nil
	default:
		if run, ok := subs[sub]; ok {
			return run(ctx, env, args[1:])
		}
		fmt.Fprintln(env.stderr, groupUsage)
		return usageError{fmt.Sprintf("unknown %s command %q: want %s", name, sub, orList(names))}
	}
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// plural counts things in English: "1 customer", "2 customers", "0 customers".
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
