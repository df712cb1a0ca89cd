package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuthChannel is the channel the access change log's triggers notify, at
// commit, with the changed account's id (migration 0008).
const AuthChannel = "roster_auth"

// ListenApplicationName is the application_name of the LISTEN connection,
// by which pg_stat_activity shows it.
const ListenApplicationName = "roster-listen"

// Reconnection delays of ListenAuthChanges: the first retry waits
// listenRetryMin, each further one twice as long, up to listenRetryMax.
const (
	listenRetryMin = 50 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// AuthListener returns ListenAuthChanges for the database at url, in the
// shape of authcache.Options.Listen.
func AuthListener(url string, logger *slog.Logger) func(ctx context.Context, wake func()) error {
	return func(ctx context.Context, wake func()) error { return ListenAuthChanges(ctx, url, logger, wake) }
}

// ListenAuthChanges holds a connection of its own to the database at url
// that LISTENs on AuthChannel, and calls wake on every notification and
// after every (re)connection (notifications sent while it was away are
// lost, so the caller reads the change log then). A lost connection is
// opened again, after 50 ms, then twice as long each time up to 5 s. It
// returns ctx.Err() when ctx ends, or an error at once when url cannot be
// parsed. Failures are logged to logger (nil: not logged).
func ListenAuthChanges(ctx context.Context, url string, logger *slog.Logger, wake func()) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("postgres: listen: %w", err)
	}
	cfg.RuntimeParams["application_name"] = ListenApplicationName
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	delay := listenRetryMin
	for {
		connected, err := listenOnce(ctx, cfg, wake)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if connected {
			delay = listenRetryMin
		}
		logger.Warn("auth changes: LISTEN connection lost; polling only until it is back", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, listenRetryMax)
	}
}

// listenOnce connects, listens and waits for notifications until the
// connection fails; connected reports whether LISTEN succeeded.
func listenOnce(ctx context.Context, cfg *pgx.ConnConfig, wake func()) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+AuthChannel); err != nil {
		return false, err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		wake()
	}
}
