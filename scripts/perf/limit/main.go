// Command limit is the ceiling the read path is measured against: every GET gets the same
// organization, bytes encoded once at start, none of the service's work. readpath.sh runs it.
//
//	go run ./scripts/perf/limit --addr 127.0.0.1:18100 --body org.json
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// etag is fixed: the body never changes while the program runs.
const etag = `"limit"`

func main() {
	addr := flag.String("addr", "127.0.0.1:18100", "address to listen on")
	bodyFile := flag.String("body", "", "file holding the JSON body to serve (required)")
	flag.Parse()
	if *bodyFile == "" {
		log.Fatal("limit: --body is required")
	}
	identity, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatalf("limit: %v", err)
	}
	// At the default level, the one a server would use per response; a bytes.Buffer takes every
	// write, so neither Write nor Close can fail.
	var gzipped bytes.Buffer
	zw := gzip.NewWriter(&gzipped)
	_, _ = zw.Write(identity)
	_ = zw.Close()
	fmt.Printf("limit listening on http://%s (%d bytes, %d gzipped)\n", *addr, len(identity), gzipped.Len())
	log.Fatal(http.ListenAndServe(*addr, handler(identity, gzipped.Bytes())))
}

// handler serves every GET its body (gzipped when accepted), or a 304 for etag, with the
// service's headers so the bytes on the wire compare.
func handler(identity, gzipped []byte) http.Handler {
	identityLen := strconv.Itoa(len(identity))
	gzippedLen := strconv.Itoa(len(gzipped))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h["Etag"] = []string{etag}
		h["Cache-Control"] = []string{"no-store"}
		h["Vary"] = []string{"Accept-Encoding"}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h["Content-Type"] = []string{"application/json"}
		body, length := identity, identityLen
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			body, length = gzipped, gzippedLen
			h["Content-Encoding"] = []string{"gzip"}
		}
		h["Content-Length"] = []string{length}
		w.WriteHeader(http.StatusOK)
		w.Write(body) // an error here is a client that went away: nothing to do
	})
}
