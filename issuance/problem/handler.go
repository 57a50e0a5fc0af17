package problem

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// Handler wraps a router so that every request of one HTTP server is handled the same way:
//
//   - it gets a request ID (the caller's X-Request-Id when it is 1-64 of A-Z a-z 0-9 - _ .,
//     otherwise a random one), sent back in X-Request-Id, carried in the context (RequestID)
//     and named in every problem body;
//   - the router's own 404 and 405 answers become problem details (405 keeps its Allow header);
//   - a panic in a handler becomes a logged 500, not a dropped connection;
//   - one structured log line per request: method, route pattern (never the raw path, which may
//     hold an ID number or hostile bytes), status, duration and request ID. Logger(ctx) gives
//     handlers the same logger with the request ID attached.
func Handler(log *slog.Logger, mux *http.ServeMux) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		rl := log.With("request_id", id)
		ctx := context.WithValue(WithRequestID(r.Context(), id), loggerKey{}, rl)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				rl.Error("http: panic in handler", "route", r.Pattern, "panic", v)
				if sw.status == 0 {
					Write(sw, r, http.StatusInternalServerError, "")
				}
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			rl.Log(ctx, level, "http request", "method", Clean(r.Method, 16), "route", routeOf(r, mux),
				"status", sw.status, "duration", time.Since(start).Round(time.Microsecond))
		}()
		if _, pattern := mux.Handler(r); pattern == "" {
			routerError(sw, r, mux)
			return
		}
		mux.ServeHTTP(sw, r)
	})
}

// routerError runs the router's answer for an unrouted request into a buffer and sends
// it as problem details when it is an error; a redirect passes through.
func routerError(w *statusWriter, r *http.Request, mux *http.ServeMux) {
	c := &captureWriter{h: http.Header{}}
	mux.ServeHTTP(c, r)
	switch c.status {
	case http.StatusNotFound:
		Write(w, r, http.StatusNotFound, "no such resource", Field{Field: "path", Rule: "not a route of this API"})
	case http.StatusMethodNotAllowed:
		if a := c.h.Get("Allow"); a != "" {
			w.Header().Set("Allow", a)
		}
		Write(w, r, http.StatusMethodNotAllowed, "method not allowed here",
			Field{Field: "method", Rule: "must be one of " + c.h.Get("Allow")})
	default:
		for k, v := range c.h {
			w.Header()[k] = v
		}
		if c.status == 0 {
			c.status = http.StatusOK
		}
		w.WriteHeader(c.status)
		w.Write(c.body)
	}
}

func routeOf(r *http.Request, mux *http.ServeMux) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	if _, p := mux.Handler(r); p != "" {
		return p
	}
	return "(none)"
}

type loggerKey struct{}

// Logger returns the request's logger (with its request ID) set by Handler, or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// statusWriter records the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// captureWriter keeps what the router answers for an unrouted request (a short text).
type captureWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (c *captureWriter) Header() http.Header { return c.h }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if len(c.body) < 4096 {
		c.body = append(c.body, b...)
	}
	return len(b), nil
}
