package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"roster"
	"roster/internal/authcache"
	"roster/internal/outbox"
	"roster/internal/password"
	"roster/internal/postgres"
	"roster/internal/web"
)

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "run the HTTP server (sign-in pages, JSON API, mail worker)",
		help: `
Serve runs the Roster HTTP server. It opens the database, applies the
migrations it lacks, and listens on --addr. It logs one line "listening"
with the address once it is ready (with --addr 127.0.0.1:0 the system picks
a free port and the log names it), and shuts down gracefully on SIGINT or
SIGTERM, letting requests in flight finish for up to --shutdown-timeout.

GET /healthz answers while the process is up; GET /readyz answers only
while the database is reachable.

On a database without an account it logs a one-time setup link (valid for an
hour; restart for a new one) that creates the first account and its Admin.
People sign in at /sign-in. Email (invitations, password resets) goes out
over --smtp-url; without it, to the local outbox: every message is logged
with its link, and the operator's page /dev/mail (its link is logged at
start) lists them.

Without --database-url the database is SQLite in <data-dir>/roster.db.
Several instances may share one PostgreSQL database: give all of them the
same --secret.

With --gateway-token, POST /api/v1/keys/verify checks API keys for the
platform's gateway, which sends that token as Authorization: Bearer.

Every flag can also be set through the environment variable named after it,
e.g. ROSTER_ADDR for --addr; the flag wins. A repeatable flag takes a
comma-separated list from its variable.`,
		register: func(fs *flagSet) runner {
			c := &serveConfig{}
			c.addr = fs.EnvString("addr", defaultAddr, "host:port to listen on; port 0 picks a free port")
			c.db = addDBFlags(fs, true)
			c.staff = fs.EnvList("staff-domain", []string{defaultStaffDomain},
				"email domain of the operator's staff, who alone may hold the Expert role")
			c.maxExpertDays = fs.EnvString("max-expert-days", "90",
				"how many days ahead an access deadline (an Expert's Access Till) may be set, 1 to 3650")
			c.web = addWebFlags(fs)
			c.mail = addMailFlags(fs)
			c.logs = addLogFlags(fs, "info")
			c.shutdown = fs.EnvDuration("shutdown-timeout", 15*time.Second,
				"how long a shutdown waits for requests in flight")
			c.gatewayToken = fs.EnvString("gateway-token", "",
				"token (at least 32 characters) the platform's gateway sends as Authorization: Bearer <token> to "+
					"POST /api/v1/keys/verify; unset: the key check answers 503")
			return func(ctx context.Context, e *env) error { return serve(ctx, e, c) }
		},
	}
}

// serveConfig holds the flags of serve.
type serveConfig struct {
	addr  *string
	db    *dbFlags
	staff *listFlag
	// maxExpertDays bounds access deadlines (roster.Config.MaxAccessTime).
	maxExpertDays *string
	web           *webFlags
	mail          *mailFlags
	logs          *logFlags
	shutdown      *time.Duration

	gatewayToken *string
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

func serve(ctx context.Context, e *env, c *serveConfig) error {
	start := time.Now()
	logger, err := c.logs.logger(e.stderr)
	if err != nil {
		return err
	}
	if err := c.db.check(); err != nil {
		return err
	}
	if err := c.web.check(); err != nil {
		return err
	}
	staff, err := staffDomains(c.staff)
	if err != nil {
		return err
	}
	if err := checkGatewayToken(*c.gatewayToken); err != nil {
		return err
	}
	if *c.shutdown <= 0 {
		return usageErrorf("--shutdown-timeout: give a positive duration such as 15s")
	}
	maxDays, err := strconv.Atoi(strings.TrimSpace(*c.maxExpertDays))
	if err != nil || maxDays < 1 || maxDays > 3650 {
		return usageErrorf("--max-expert-days: give a whole number of days from 1 to 3650, such as 90")
	}
	smtp, from, err := c.mail.sender()
	if err != nil {
		return err
	}
	if _, _, err := c.web.parsed("127.0.0.1:0"); err != nil {
		return err
	}
	secret, err := c.db.loadSecret(logger)
	if err != nil {
		return err
	}

	st, err := c.db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	ln, err := net.Listen("tcp", *c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *c.addr, err)
	}
	bound := ln.Addr().String()
	public, proxies, err := c.web.parsed(bound)
	if err != nil {
		ln.Close()
		return err
	}

	mailer := outbox.Config{Store: st, From: from, PublicURL: public, Secret: secret,
		InvitationTTL: *c.web.invitationTTL, ResetTTL: *c.web.resetTTL, Logger: logger}
	var mailbox web.Mailbox
	if smtp != nil {
		mailer.Sender = smtp
	}
	worker := outbox.New(mailer)
	if smtp == nil {
		mailbox = worker
	}
	// The key check cache follows the database's access change log (a poll
	// every 200 ms, woken by LISTEN on PostgreSQL), and every committed
	// change of this instance syncs it before answering: docs/key-cache.md.
	keyOpt := authcache.Options{Logger: logger}
	if c.db.postgres() {
		keyOpt.Listen = postgres.AuthListener(*c.db.databaseURL, logger)
	}
	keys := authcache.New[authcache.KeyOwner](st, keyOpt)
	svc := roster.NewService(authcache.SyncAfterUpdate(st, keys.Sync), roster.Config{StaffDomains: staff, Secret: secret,
		Passwords: password.Default(), InvitationTTL: *c.web.invitationTTL, ResetTTL: *c.web.resetTTL,
		SessionIdle: *c.web.sessionIdle, SessionMax: *c.web.sessionMax, MailQueued: worker.Kick, Logger: logger,
		MaxAccessTime: time.Duration(maxDays) * 24 * time.Hour,
		KeyOwner: func(ctx context.Context, hash []byte) (*roster.APIKey, *roster.User, error) {
			return authcache.Owner(ctx, keys, hash, st.APIKeyOwner)
		}})
	opToken := operatorToken(secret)
	srv := &http.Server{
		Handler: web.NewServer(logger, svc, web.Options{PublicURL: public, TrustedProxies: proxies, Secret: secret,
			Mailbox: mailbox, MailboxToken: opToken, OperatorToken: *c.web.operatorToken, GatewayToken: *c.gatewayToken}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	// Fresh connections wait for their first byte with the idle allowance
	// of a kept-alive one (listener.go).
	go func() { served <- srv.Serve(newFirstByteListener(ln, idleTimeout)) }()

	// The key check cache, the mail worker and the background jobs stop
	// with bg.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = keys.Run(bg) })
	wg.Go(func() {
		if err := worker.Run(bg); err != nil {
			logger.Error("mail worker stopped", "err", err)
		}
	})
	wg.Go(func() { prune(bg, svc, logger) })
	wg.Go(func() { deadlines(bg, svc, logger) })
	wg.Go(func() { svc.RunKeyUses(bg, keyUsesEvery) })
	defer func() {
		stopBG()
		wg.Wait()
	}()

	mail := "smtp"
	if smtp == nil {
		mail = "local outbox"
	}
	logger.Info("listening", "addr", bound, "url", public.String(), "store", c.db.storeName(),
		"staff_domains", staff, "mail", mail, "startup", time.Since(start).Round(time.Microsecond))
	if smtp == nil {
		logger.Info("no --smtp-url: email goes to the local outbox; each message is logged with its link, "+
			"and the operator's page lists them", "outbox_url", public.String()+"/dev/mail?token="+opToken)
	}

	// On an empty database, print the one-time link that creates the
	// first account and its Admin.
	if token, err := svc.SetupLink(ctx); err != nil {
		logger.Error("could not make a setup link", "err", err)
	} else if token != "" {
		logger.Warn("no account exists yet: open this one-time link within an hour to create the first account and its Admin "+
			"(restart roster serve for a new one)", "setup_url", public.String()+"/setup?token="+token)
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "cause", context.Cause(ctx), "timeout", *c.shutdown)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), *c.shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still running after %s: %w", *c.shutdown, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	svc.Drain() // password reset requests answered but not yet written
	logger.Info("stopped")
	return nil
}

// deadlinesEvery is how often serve runs the access deadline job: the
// reminders before an Expert's access ends and the report once it has.
// Access itself ends at the deadline on every request, without the job.
const deadlinesEvery = time.Minute

// deadlines runs svc.RunDeadlines at start and every deadlinesEvery until
// ctx ends. Several instances may run it at once (each step is claimed).
func deadlines(ctx context.Context, svc *roster.Service, logger *slog.Logger) {
	t := time.NewTicker(deadlinesEvery)
	defer t.Stop()
	for {
		reminders, ended, err := svc.RunDeadlines(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("access deadlines", "err", err)
		case reminders+ended > 0:
			logger.Info("access deadlines", "reminders_queued", reminders, "access_ended", ended)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// keyUsesEvery is how often serve writes the API keys' last uses: at most
// one write per key in each interval (and one more at shutdown).
const keyUsesEvery = time.Minute

// pruneEvery is how often serve deletes dead sessions and stale throttles.
const pruneEvery = 10 * time.Minute

func prune(ctx context.Context, svc *roster.Service, logger *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := svc.Prune(ctx); err != nil && ctx.Err() == nil {
			logger.Error("prune sessions", "err", err)
		} else if n > 0 {
			logger.Debug("pruned sessions and throttles", "rows", n)
		}
	}
}
