package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
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
