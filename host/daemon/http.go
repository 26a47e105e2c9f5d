package daemon

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the admin endpoints:
//
//	GET /healthz      200 "ok" while the process serves requests
//	GET /readyz       200 "ready", or 503 with the reason (see Ready)
//	GET /metrics      Prometheus metrics (text exposition format)
//	GET /v1/plugins   Status as JSON
//
// Open serves it on Config.HTTPAddr; it is exported for embedding.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
		Registry: d.metrics.reg,
	}))
	mux.HandleFunc("GET /v1/cluster", d.serveCluster)
	mux.HandleFunc("GET /v1/plugins", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d.Status(r.Context())); err != nil {
			d.log.Warn("write /v1/plugins", "err", err)
		}
	})
	return mux
}

// serveHTTP serves Handler on the listener Open made.
func (d *Daemon) serveHTTP() {
	d.srv = &http.Server{
		Handler:           d.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("admin http stopped", "addr", d.HTTPAddr(), "err", err)
		}
	}()
}
