package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestInWords(t *testing.T) {
	for _, tc := range []struct {
		seconds int
		want    string
	}{{0, "in a second"}, {1, "in a second"}, {2, "in 2 seconds"}, {59, "in 59 seconds"}, {60, "in a minute"},
		{119, "in a minute"}, {120, "in 2 minutes"}, {121, "in 3 minutes"}, {3599, "in 60 minutes"},
		{3600, "in an hour"}, {3601, "in 2 hours"}, {7200, "in 2 hours"}} {
		if got := inWords(tc.seconds); got != tc.want {
			t.Errorf("inWords(%d) = %q, want %q", tc.seconds, got, tc.want)
		}
	}
}

func TestLifetime(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{time.Hour, "one hour"}, {2 * time.Hour, "2 hours"}, {90 * time.Minute, "90 minutes"}, {30 * time.Minute, "30 minutes"},
		{time.Minute, "one minute"}, {24 * time.Hour, "one day"}, {72 * time.Hour, "3 days"}, {25 * time.Hour, "25 hours"},
		{45 * time.Second, "45 seconds"}} {
		if got := lifetime(tc.d); got != tc.want {
			t.Errorf("lifetime(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{{"", false}, {"gzip", true}, {"deflate, gzip;q=0.5", true}, {"GZIP", true}, {"*", true}, {"br", false},
		{"gzip;q=0", false}, {"gzip; q=0.000", false}, {"gzip;q=0.001", true}, {"identity", false}} {
		r := httptest.NewRequest(http.MethodGet, "/static/roster.css", nil)
		if tc.header != "" {
			r.Header.Set("Accept-Encoding", tc.header)
		}
		if got := acceptsGzip(r); got != tc.want {
			t.Errorf("Accept-Encoding %q: acceptsGzip = %v, want %v", tc.header, got, tc.want)
		}
	}
}
