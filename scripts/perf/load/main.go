// Command load is scripts/perf's load generator: keep-alive connections, one GET at a time each,
// for a fixed time, small so it costs little beside the server it measures. It prints
// `requests=N ok=N other=N bytes=N seconds=S` (ok: 2xx and 304).
//
//	go run ./scripts/perf/load --url http://127.0.0.1:18101/x --conns 8 --duration 5s -H 'token: ...'
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "", "URL to GET (http only)")
	conns := flag.Int("conns", 8, "connections, each with one request at a time")
	duration := flag.Duration("duration", 5*time.Second, "how long to send requests")
	var hs []string
	flag.Func("H", "a request header, 'Name: value' (repeatable)", func(v string) error { hs = append(hs, v); return nil })
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" {
		log.Fatalf("load: --url %q: want an http URL", *target)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	for _, h := range hs {
		req.WriteString(h + "\r\n")
	}
	req.WriteString("\r\n")
	request := []byte(req.String())

	var requests, ok, other, bytes atomic.Int64
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				log.Fatalf("load: %v", err)
			}
			defer c.Close()
			r := bufio.NewReaderSize(c, 64<<10)
			for time.Now().Before(deadline) {
				if _, err := c.Write(request); err != nil {
					log.Fatalf("load: write: %v", err)
				}
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					log.Fatalf("load: read: %v", err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					log.Fatalf("load: read body: %v", err)
				}
				requests.Add(1)
				bytes.Add(n)
				if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified {
					ok.Add(1)
				} else {
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("requests=%d ok=%d other=%d bytes=%d seconds=%.3f\n",
		requests.Load(), ok.Load(), other.Load(), bytes.Load(), time.Since(start).Seconds())
}
