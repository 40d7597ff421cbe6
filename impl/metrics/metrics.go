// Package metrics defines the service's Prometheus metrics. Each server gets its own registry,
// so tests can run servers side by side and read their counters.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cyrexa/customer-api/impl/buildinfo"
)

// Metrics are the service's own instruments.
type Metrics struct {
	registry *prometheus.Registry

	// ResponseValidationFailures counts responses that broke the contract, by operation and
	// the status the handler meant to send.
	ResponseValidationFailures *prometheus.CounterVec
	// ResponseValidationCache counts response bodies found in (hit) or added to (miss) the
	// cache of bodies already validated.
	ResponseValidationCache *prometheus.CounterVec
	// ListBodies counts customer lists by how they were answered: cached (from the body cache),
	// read (from the store, within the window), spooled (larger than the window), busy (refused
	// by admission or a full spool), cut_short (the client went away or stalled mid-answer); and
	// dropped_erased counts the times the body cache was emptied after an erasure.
	ListBodies *prometheus.CounterVec
	// Requests counts answered requests by route and status.
	Requests *prometheus.CounterVec
	// RequestDuration observes how long requests took, by route.
	RequestDuration *prometheus.HistogramVec
	// AuthFailures counts refused credentials by the check that refused them (auth.Reason).
	AuthFailures *prometheus.CounterVec
}

// New registers the service's metrics, plus the Go runtime's and the process's, in a new registry.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		ResponseValidationFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customer_api_response_validation_failures_total",
			Help: "Responses that failed validation against the contract.",
		}, []string{"operation", "status"}),
		ResponseValidationCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customer_api_response_validation_cache_total",
			Help: "Customer documents whose validation was found in the cache (hit) or computed (miss).",
		}, []string{"result"}),
		ListBodies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customer_api_list_bodies_total",
			Help: "Customer lists answered, by outcome: cached, read, spooled, busy or cut_short; dropped_erased: body cache emptied after an erasure.",
		}, []string{"outcome"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customer_api_http_requests_total",
			Help: "Answered HTTP requests.",
		}, []string{"route", "status"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "customer_api_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customer_api_auth_failures_total",
			Help: "Refused credentials, by the check that refused them.",
		}, []string{"reason"}),
	}
	build := buildinfo.Read()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "customer_api_build_info",
		Help: "Always 1; its labels say which build is running: module version, VCS revision (+modified), Go version.",
	}, []string{"version", "revision", "goversion"})
	revision := build.Revision
	if build.Modified {
		revision += "+modified"
	}
	buildInfo.WithLabelValues(build.Version, revision, build.GoVersion).Set(1)
	reg.MustRegister(buildInfo,
		m.ResponseValidationFailures, m.ResponseValidationCache, m.ListBodies, m.Requests, m.RequestDuration, m.AuthFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
