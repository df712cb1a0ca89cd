package outbox

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDurationWords(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "one hour"},
		{2 * time.Hour, "two hours"},
		{30 * time.Minute, "30 minutes"},
		{time.Minute, "one minute"},
		{90 * time.Minute, "one hour and 30 minutes"},
		{24 * time.Hour, "one day"},
		{48 * time.Hour, "two days"},
		{36 * time.Hour, "36 hours"},
		{45 * time.Second, "45s"},
	} {
		if got := durationWords(tc.d); got != tc.want {
			t.Errorf("durationWords(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	at := time.Date(2026, 11, 27, 15, 5, 59, 0, time.FixedZone("CET", 3600))
	if got, want := formatTime(at), "27 November 2026 at 14:05 UTC"; got != want {
		t.Errorf("formatTime(%v) = %q, want %q", at, got, want)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{
		{1, 15 * time.Second}, {2, 30 * time.Second}, {3, time.Minute}, {7, 15 * time.Minute},
		{8, 15 * time.Minute}, {1000, 15 * time.Minute},
	} {
		lo, hi := tc.base*3/4, tc.base*5/4
		spread := map[time.Duration]bool{}
		for range 50 {
			d := backoff(tc.attempt)
			if d < lo || d >= hi {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v)", tc.attempt, d, lo, hi)
			}
			spread[d] = true
		}
		if len(spread) < 2 {
			t.Errorf("backoff(%d) has no jitter: always %v", tc.attempt, spread)
		}
	}
}

func TestJoinAnd(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""}, {[]string{"Admin"}, "Admin"}, {[]string{"Admin", "Support"}, "Admin and Support"},
		{[]string{"A", "B", "C"}, "A, B and C"},
	} {
		if got := joinAnd(tc.in); got != tc.want {
			t.Errorf("joinAnd(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDescribeKeepsOneLine(t *testing.T) {
	got := describe(errors.New("email: RCPT TO at h:25: 451 4.3.0 try\r\nagain\tlater"))
	if want := "RCPT TO at h:25: 451 4.3.0 try again later"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	long := clip(strings.Repeat("é", 2*maxErrorLen))
	if n := len([]rune(long)); n != maxErrorLen {
		t.Errorf("clip kept %d runes, want %d", n, maxErrorLen)
	}
}

func TestFirstLink(t *testing.T) {
	if got := firstLink("Hello,\n\nopen\n\nhttps://x.test/join?token=abc\n\nthanks"); got != "https://x.test/join?token=abc" {
		t.Errorf("firstLink = %q", got)
	}
}
