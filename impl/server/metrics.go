package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cyrexa/customer-api/impl/buildinfo"
)

// Metrics are the service's own Prometheus instruments. Each server gets its own registry,
// so tests can run servers side by side and read their counters.
type Metrics struct {
	registry *prometheus.Registry

	// The response validator's: failures by operation and the status the handler meant to
	// send; validated documents found in its cache, or not, by result (hit, miss).
	ResponseValidationFailures, ResponseValidationCache *prometheus.CounterVec
	// ListBodies counts customer lists by outcome, as listing.New says.
	ListBodies *prometheus.CounterVec
	// The access log's: requests by route and status, their durations by route, and refused
	// credentials by the check that refused them (auth.Reason).
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	AuthFailures    *prometheus.CounterVec
}

// counter is a counter vector named customer_api_<name>_total.
func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "customer_api_" + name + "_total", Help: help}, labels)
}

// NewMetrics registers the service's metrics, plus the Go runtime's and the process's, in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry:                   prometheus.NewRegistry(),
		ResponseValidationFailures: counter("response_validation_failures", "Responses that failed validation against the contract.", "operation", "status"),
		ResponseValidationCache:    counter("response_validation_cache", "Customer documents whose validation was found in the cache (hit) or computed (miss).", "result"),
		ListBodies:                 counter("list_bodies", "Customer lists answered, by outcome: cached, read, spooled, busy or cut_short; dropped_erased: body cache emptied after an erasure.", "outcome"),
		Requests:                   counter("http_requests", "Answered HTTP requests.", "route", "status"),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "customer_api_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
		AuthFailures: counter("auth_failures", "Refused credentials, by the check that refused them.", "reason"),
	}
	build := buildinfo.Read()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "customer_api_build_info",
		Help: "Always 1; its labels say which build is running: module version, VCS revision (+modified), Go version.",
	}, []string{"version", "revision", "goversion"})
	buildInfo.WithLabelValues(build.Version, build.FullRevision(), build.GoVersion).Set(1)
	m.registry.MustRegister(buildInfo,
		m.ResponseValidationFailures, m.ResponseValidationCache, m.ListBodies, m.Requests, m.RequestDuration, m.AuthFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
