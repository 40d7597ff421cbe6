package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/cyrexa/customer-api/impl/metrics"
)

// timingOutWriter takes the first n bytes, then fails as a connection past its write deadline.
type timingOutWriter struct {
	*httptest.ResponseRecorder
	n int
}

func (w *timingOutWriter) Write(b []byte) (int, error) {
	if len(b) <= w.n {
		w.n -= len(b)
		return w.ResponseRecorder.Write(b)
	}
	took, _ := w.ResponseRecorder.Write(b[:w.n])
	w.n = 0
	return took, os.ErrDeadlineExceeded
}

func TestTheAccessLineRecordsWhatWasReallyWritten(t *testing.T) {
	var logs bytes.Buffer
	e := echo.New()
	e.Use(accessLog(slog.New(slog.NewJSONHandler(&logs, nil)), metrics.New()))
	e.GET("/big", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/octet-stream", bytes.Repeat([]byte("x"), 10_000))
	})
	w := &timingOutWriter{ResponseRecorder: httptest.NewRecorder(), n: 4096}
	e.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/big", nil))

	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("access line %q: %v", logs.String(), err)
	}
	if line["bytes"] != float64(4096) {
		t.Errorf("bytes = %v, want the 4096 really written", line["bytes"])
	}
	if msg, _ := line["write_error"].(string); !strings.Contains(msg, "timeout") {
		t.Errorf("write_error = %q, want the timeout", msg)
	}
	if line["level"] != "WARN" {
		t.Errorf("level = %v, want WARN", line["level"])
	}
}

func TestARequestWhoseClientLeftAfterTheWholeAnswerKeepsItsStatus(t *testing.T) {
	var logs syncBuffer
	e := echo.New()
	e.Use(accessLog(slog.New(slog.NewJSONHandler(&logs, nil)), metrics.New()))
	e.GET("/whole", func(c echo.Context) error {
		c.Response().Header().Set("Content-Length", "9") // the whole answer, before the handler returns
		if err := c.Blob(http.StatusOK, "text/plain", []byte("all of it")); err != nil {
			return err
		}
		c.Response().Flush()
		<-c.Request().Context().Done() // the client has the answer, and hangs up
		return nil
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	transport := &http.Transport{DisableKeepAlives: true}
	resp, err := transport.RoundTrip(httptest.NewRequest(http.MethodGet, srv.URL+"/whole", nil))
	if err != nil {
		t.Fatal(err)
	}
	if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "all of it" {
		t.Fatalf("body %q, %v", body, err)
	}
	resp.Body.Close()
	transport.CloseIdleConnections()
	for !strings.Contains(logs.String(), `"msg":"request"`) {
		<-logs.next()
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
		t.Fatal(err)
	}
	if line["status"] != float64(http.StatusOK) {
		t.Errorf("status %v, want 200: the client left after it had the whole answer", line["status"])
	}
}

// syncBuffer is a buffer safe for a server's goroutines, which says when it was written to.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// next is closed at the next write.
func (b *syncBuffer) next() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written == nil {
		b.written = make(chan struct{})
	}
	return b.written
}
