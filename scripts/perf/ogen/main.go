// Command ogen serves the contract's one operation with a server ogen generates from
// openapi.yaml (response validation on, lists in memory, any bearer accepted): what readpath.sh
// measures the real binary against. A module of its own; api/ is generated, not committed:
//
//	go tool ogen --config ogen.yml --target api --package api --clean ../../../openapi.yaml
//	go run . --addr 127.0.0.1:18110 --org org-a=a.json --org org-b=b.json
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/cyrexa/customer-api/scripts/perf/ogen/api"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18110", "address to listen on")
	files := map[string]string{}
	flag.Func("org", "NAME=FILE: an organization and its customer list (repeatable)", func(v string) error {
		name, file, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want NAME=FILE, not %q", v)
		}
		files[name] = file
		return nil
	})
	flag.Parse()
	lists := map[string]api.CustomerList{}
	for name, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			log.Fatal(err)
		}
		var list api.CustomerList
		if err := list.UnmarshalJSON(raw); err != nil {
			log.Fatalf("%s: %v", file, err)
		}
		lists[name] = list
	}
	srv, err := api.NewServer(handler{lists}, security{}, api.WithPathPrefix("/customer/1.0.0"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ogen listening on http://%s (%d organizations)\n", *addr, len(lists))
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {})
	mux.Handle("/", srv)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

// handler answers every organization it holds, and 404 for the others.
type handler struct{ lists map[string]api.CustomerList }

func (h handler) GetOrganizationCustomers(_ context.Context, p api.GetOrganizationCustomersParams) (api.GetOrganizationCustomersRes, error) {
	list, ok := h.lists[string(p.OrganizationId)]
	if !ok {
		return nil, fmt.Errorf("no organization %q", p.OrganizationId)
	}
	return &api.CustomerListHeaders{
		CacheControl: api.NewOptString("no-store"),
		ETag:         api.NewOptString(`"ogen"`),
		Vary:         api.NewOptString("Accept-Encoding"),
		Response:     list,
	}, nil
}

func (handler) NewError(_ context.Context, err error) *api.UnexpectedErrorStatusCodeWithHeaders {
	return &api.UnexpectedErrorStatusCodeWithHeaders{StatusCode: http.StatusNotFound}
}

// security accepts any bearer token.
type security struct{}

func (security) HandleBearerAuth(ctx context.Context, _ api.OperationName, _ api.BearerAuth) (context.Context, error) {
	return ctx, nil
}
