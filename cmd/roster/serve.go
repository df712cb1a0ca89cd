package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"roster"
	"roster/internal/web"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the HTTP server (JSON API, health checks)",
		help: `
Serve runs the Roster HTTP server. It opens the database, applies the
migrations it lacks, and listens on --addr. It logs one line "listening"
with the address once it is ready (with --addr 127.0.0.1:0 the system picks
a free port and the log names it), and shuts down gracefully on SIGINT or
SIGTERM, letting requests in flight finish for up to --shutdown-timeout.

GET /healthz answers while the process is up; GET /readyz answers only
while the database is reachable.

Without --database-url the database is SQLite in <data-dir>/roster.db.
Several instances may share one PostgreSQL database: give all of them the
same --secret.

Every flag can also be set through the environment variable named after it,
e.g. ROSTER_ADDR for --addr; the flag wins. A repeatable flag takes a
comma-separated list from its variable.`,
		register: func(fs *flagSet) runner {
			addr := fs.EnvString("addr", defaultAddr, "host:port to listen on; port 0 picks a free port")
			db := addDBFlags(fs, true)
			staff := fs.EnvList("staff-domain", []string{defaultStaffDomain},
				"email domain of the operator's staff, who alone may hold the Expert role")
			logs := addLogFlags(fs, "info")
			shutdown := fs.EnvDuration("shutdown-timeout", 15*time.Second,
				"how long a shutdown waits for requests in flight")
			return func(ctx context.Context, e *env) error {
				return serve(ctx, e, *addr, db, staff, logs, *shutdown)
			}
		},
	}
}

// HTTP server limits: generous for the API's small requests, tight enough
// that slow or idle clients cannot hold connections for ever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

func serve(ctx context.Context, e *env, addr string, db *dbFlags, staffFlag *listFlag, logs *logFlags, shutdownTimeout time.Duration) error {
	start := time.Now()
	logger, err := logs.logger(e.stderr)
	if err != nil {
		return err
	}
	if err := db.check(); err != nil {
		return err
	}
	staff, err := staffDomains(staffFlag)
	if err != nil {
		return err
	}
	if shutdownTimeout <= 0 {
		return usageErrorf("--shutdown-timeout: give a positive duration such as 15s")
	}
	secret, err := db.loadSecret(logger)
	if err != nil {
		return err
	}

	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := roster.NewService(st, roster.Config{StaffDomains: staff, Secret: secret})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           web.NewServer(logger, svc),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	bound := ln.Addr().String()
	logger.Info("listening", "addr", bound, "url", "http://"+bound, "store", db.storeName(),
		"staff_domains", staff, "startup", time.Since(start).Round(time.Microsecond))

	// Only a hint: a failed look-up shows again in /readyz.
	if has, err := st.HasAccounts(ctx); err == nil && !has {
		// Until the setup link of the sign-in flow exists, say how to begin.
		logger.Warn("no account exists yet; create the first one and its Admin with: " +
			"roster account create --name NAME --admin-email EMAIL --admin-first-name FIRST --admin-last-name LAST --admin-password-stdin")
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "cause", context.Cause(ctx), "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %s: %w", shutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
