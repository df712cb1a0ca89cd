package useragent

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var cases = []struct {
	name string
	ua   string
	want string
}{
	// Chrome.
	{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on Windows"},
	{"chrome macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on macOS"},
	{"chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on Linux"},
	{"chrome android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome 131 on Android"},
	{"chrome iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome 131 on iOS"},
	{"chrome ipad", "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome 131 on iPadOS"},
	{"chrome chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131 on ChromeOS"},
	{"chrome android webview", "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36", "Chrome 131 on Android"},
	{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome 131 on Linux"},
	{"brave is chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36", "Chrome 130 on Windows"},
	{"chromium linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/130.0.6723.116 Chrome/130.0.6723.116 Safari/537.36", "Chromium 130 on Linux"},

	// Edge.
	{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51", "Edge 131 on Windows"},
	{"edge macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51", "Edge 131 on macOS"},
	{"edge android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.2903.48", "Edge 131 on Android"},
	{"edge iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/131.2903.56 Mobile/15E148 Safari/605.1.15", "Edge 131 on iOS"},
	{"edge xbox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.51", "Edge 131 on Windows"},

	// Firefox.
	{"firefox windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox 132 on Windows"},
	{"firefox esr windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 on Windows"},
	{"firefox macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox 132 on macOS"},
	{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox 132 on Linux"},
	{"firefox ubuntu", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", "Firefox 132 on Linux"},
	{"firefox android", "Mozilla/5.0 (Android 15; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0", "Firefox 132 on Android"},
	{"firefox iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/132.0 Mobile/15E148 Safari/605.1.15", "Firefox 132 on iOS"},
	{"firefox ipad", "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/132.0 Mobile/15E148 Safari/605.1.15", "Firefox 132 on iPadOS"},

	// Safari.
	{"safari macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari 18 on macOS"},
	{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18 on iOS"},
	{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari 18 on iPadOS"},
	{"safari ipad desktop mode", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15", "Safari 17 on macOS"},

	// Opera.
	{"opera windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera 115 on Windows"},
	{"opera macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera 115 on macOS"},
	{"opera android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/85.0.0.0", "Opera 85 on Android"},

	// Samsung Internet.
	{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet 26 on Android"},

	// Non-browser clients.
	{"curl", "curl/8.7.1", "curl 8"},
	{"wget", "Wget/1.21.4", "Wget 1"},
	{"go http 1.1", "Go-http-client/1.1", "Go HTTP client"},
	{"go http 2", "Go-http-client/2.0", "Go HTTP client"},
	{"python requests", "python-requests/2.32.3", "python-requests 2"},
	{"postman", "PostmanRuntime/7.42.0", "Postman 7"},
	{"curl without version", "curl/", "curl"},

	// Partial knowledge.
	{"browser without system", "Chrome/131.0.0.0", "Chrome 131"},
	{"browser without version", "Mozilla/5.0 (Windows NT 10.0) Chrome/", "Chrome on Windows"},
	{"ios in-app webview", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Unknown browser on iOS"},
	{"safari token without version", "Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Safari/605.1.15", "Unknown browser on macOS"},
	{"huge version is cut", "Firefox/1234567890123456789", "Firefox 12345"},

	// Unknown and garbage.
	{"empty", "", Unknown},
	{"spaces", "   ", Unknown},
	{"garbage", "asdf;lkj 12/34 ()", Unknown},
	{"invalid utf-8", "\xff\xfe\xfd", Unknown},
	{"nul bytes", "\x00\x00Chrome\x00", Unknown},
	{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Unknown},
	{"client prefix not at start", "my curl/8.7.1", Unknown},
	{"10 KB of junk", strings.Repeat("A", 10<<10), Unknown},
	{"browser past the limit", strings.Repeat("A", 10<<10) + "Chrome/131.0.0.0 (Windows NT 10.0)", Unknown},
	{"junk after a real agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0 " + strings.Repeat("Chrome/1 Linux ", 700), "Firefox 132 on Windows"},
	{"version cut at the limit", strings.Repeat("x", MaxInput-len("Firefox/1")) + "Firefox/132.0", "Firefox 1"},
}

func TestDevice(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Device(tc.ua); got != tc.want {
				t.Errorf("Device(%.80q) = %q, want %q", tc.ua, got, tc.want)
			}
		})
	}
}

func FuzzDevice(f *testing.F) {
	for _, tc := range cases {
		f.Add(tc.ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got := Device(ua)
		if got == "" || len(got) > 64 {
			t.Fatalf("Device(%q) = %q: want 1 to 64 bytes", ua, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Device(%q) = %q: not valid UTF-8", ua, got)
		}
		if len(ua) > MaxInput {
			if short := Device(ua[:MaxInput]); short != got {
				t.Fatalf("Device looked past MaxInput: %q with the tail, %q without", got, short)
			}
		}
	})
}

func BenchmarkDevice(b *testing.B) {
	var uas []string
	for _, tc := range cases {
		switch tc.name {
		case "chrome windows", "edge windows", "safari iphone", "curl", "empty", "10 KB of junk":
			uas = append(uas, tc.ua)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ua := range uas {
			Device(ua)
		}
	}
}
