// Package useragent turns an HTTP User-Agent header into a short, human
// description of the device that sent it, such as "Firefox 132 on Windows",
// for display next to a sign-in.
//
// It recognises the browsers and systems people actually use and a few
// common non-browser clients. It is a best-effort label, not a security
// signal: any client can send any User-Agent.
package useragent

import "strings"

// MaxInput is the number of leading bytes of a User-Agent that Device looks
// at; everything after it is ignored, which bounds the work per call.
const MaxInput = 512

// Unknown is what Device returns when it recognises neither the browser nor
// the operating system.
const Unknown = "Unknown device"

// maxVersionDigits bounds the major version copied into the result, so the
// result stays short (at most 64 bytes) whatever the input.
const maxVersionDigits = 5

// browser is one rule: if token occurs in the User-Agent, the browser is name
// and its major version follows version (token when empty). Rules are tried in
// order, so a browser whose User-Agent also names another (Edge and Opera say
// "Chrome", Chrome says "Safari") must come before it.
type browser struct {
	token   string
	name    string
	version string
	also    string // a second token that must also occur, if set
}

var browsers = []browser{
	{token: "Edg/", name: "Edge"},
	{token: "EdgA/", name: "Edge"},
	{token: "EdgiOS/", name: "Edge"},
	{token: "OPR/", name: "Opera"},
	{token: "OPiOS/", name: "Opera"},
	{token: "SamsungBrowser/", name: "Samsung Internet"},
	{token: "FxiOS/", name: "Firefox"},
	{token: "Firefox/", name: "Firefox"},
	{token: "CriOS/", name: "Chrome"},
	{token: "Chromium/", name: "Chromium"},
	// Brave, Vivaldi, Arc and Android WebView send Chrome's User-Agent
	// unchanged, so they are reported as Chrome.
	{token: "Chrome/", name: "Chrome"},
	{token: "Safari/", name: "Safari", version: "Version/", also: "Version/"},
}

// client is a non-browser HTTP client recognised by the start of its
// User-Agent, such as "curl/8.7.1".
type client struct {
	prefix      string
	name        string
	withVersion bool
}

var clients = []client{
	{prefix: "curl/", name: "curl", withVersion: true},
	{prefix: "Wget/", name: "Wget", withVersion: true},
	{prefix: "Go-http-client/", name: "Go HTTP client"},
	{prefix: "python-requests/", name: "python-requests", withVersion: true},
	{prefix: "PostmanRuntime/", name: "Postman", withVersion: true},
}

// system is an operating system recognised by a token in the User-Agent.
// Order matters here too: iPhone and iPad say "like Mac OS X", Android says
// "Linux".
type system struct {
	token string
	name  string
}

var systems = []system{
	{token: "iPhone", name: "iOS"},
	{token: "iPod", name: "iOS"},
	{token: "iPad", name: "iPadOS"},
	{token: "Android", name: "Android"},
	{token: "CrOS", name: "ChromeOS"},
	{token: "Windows", name: "Windows"},
	{token: "Macintosh", name: "macOS"},
	{token: "Mac OS X", name: "macOS"},
	{token: "Linux", name: "Linux"},
}

// Device returns a short description of the device behind the User-Agent ua:
// "<Browser> <major version> on <OS>", for example "Chrome 131 on Android" or
// "Safari 18 on iPadOS". Parts it cannot tell are left out ("Chrome 131" when
// the system is unknown, "Unknown browser on Linux" when the browser is);
// a recognised non-browser client gives its name and major version
// ("curl 8", "Go HTTP client"); anything else, including the empty string,
// gives Unknown.
//
// Only the first MaxInput bytes of ua are examined. The result is at most 64
// bytes of ASCII. Device never panics.
//
// Some devices cannot be told apart from their User-Agent: Brave is Chrome,
// an iPad asking for the desktop site is macOS, and Windows 11 is Windows.
func Device(ua string) string {
	if len(ua) > MaxInput {
		ua = ua[:MaxInput]
	}
	for _, c := range clients {
		if strings.HasPrefix(ua, c.prefix) {
			if !c.withVersion {
				return c.name
			}
			return join(c.name, major(ua[len(c.prefix):]), "")
		}
	}

	name, version := "", ""
	for _, b := range browsers {
		i := strings.Index(ua, b.token)
		if i < 0 || (b.also != "" && !strings.Contains(ua, b.also)) {
			continue
		}
		name = b.name
		if b.version == "" {
			version = major(ua[i+len(b.token):])
		} else if j := strings.Index(ua, b.version); j >= 0 {
			version = major(ua[j+len(b.version):])
		}
		break
	}

	osName := ""
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			osName = s.name
			break
		}
	}

	switch {
	case name == "" && osName == "":
		return Unknown
	case name == "":
		return "Unknown browser on " + osName
	}
	return join(name, version, osName)
}

// major returns the leading decimal digits of s (at most maxVersionDigits),
// which is the major version when s follows a "Name/" token.
func major(s string) string {
	n := 0
	for n < len(s) && n < maxVersionDigits && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	return s[:n]
}

// join builds "name version on system", leaving out the empty parts.
func join(name, version, system string) string {
	var b strings.Builder
	b.Grow(len(name) + 1 + len(version) + 4 + len(system))
	b.WriteString(name)
	if version != "" {
		b.WriteByte(' ')
		b.WriteString(version)
	}
	if system != "" {
		b.WriteString(" on ")
		b.WriteString(system)
	}
	return b.String()
}
