package main

import (
	"log/slog"
	"os"
	"strings"
)

// newLogger returns the one structured log every long-running component of cccd (serve and its HTTP API,
// stations, the print room) writes to: log/slog on stderr, as text or, with CCCD_LOG_FORMAT=json, as JSON
// lines; CCCD_LOG_LEVEL=debug|info|warn|error sets the level (default info). Each line carries
// component=NAME, and an HTTP request's lines its request_id (package problem). It also becomes
// slog.Default, so packages that fall back to the default log write the same format.
func newLogger(component string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch strings.ToLower(os.Getenv("CCCD_LOG_LEVEL")) {
	case "debug":
		opts.Level = slog.LevelDebug
	case "warn":
		opts.Level = slog.LevelWarn
	case "error":
		opts.Level = slog.LevelError
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if strings.EqualFold(os.Getenv("CCCD_LOG_FORMAT"), "json") {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	l := slog.New(h).With("component", component)
	slog.SetDefault(l)
	return l
}
