package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// healthcheck asks a running server whether it is ready (or up) and exits 0 when it answers
// 200, 1 otherwise: the container image's HEALTHCHECK, which has no shell and no curl. Its --addr
// reads CUSTOMER_API_ADDR like serve's, so in the image it finds the server with no flags.
func healthcheck(ctx context.Context, env environment, args []string) error {
	fs := newFlagSet("healthcheck")
	addr := fs.String("addr", "127.0.0.1:8080", "address of the server, as serve's --addr (a host-less :8080, or 0.0.0.0, means this host's loopback)")
	path := fs.String("path", "/readyz", "/readyz (ready: the database answers) or /healthz (the process is up)")
	timeout := fs.Duration("timeout", 2*time.Second, "how long the check may take")
	if err := parse(fs, args, env); err != nil {
		if errors.Is(err, errHelp) {
			return err
		}
		// Exit 1, never 2: container engines reserve exit status 2 of a health check.
		return errors.New(err.Error())
	}
	if *path != "/readyz" && *path != "/healthz" {
		return fmt.Errorf("--path %q: want /readyz or /healthz", *path)
	}
	if *timeout <= 0 {
		return fmt.Errorf("--timeout %s: must be positive", *timeout)
	}
	url, err := healthURL(*addr, *path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "customer-api healthcheck")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(env.stdout, "healthy: GET %s answered %s\n", url, resp.Status)
	return nil
}

// healthURL is the URL of path on the server listening on addr: an address that listens on
// every interface is reached on loopback.
func healthURL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--addr %q: want host:port, as serve's --addr", addr)
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}
