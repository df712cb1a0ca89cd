package password

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestCheck(t *testing.T) {
	person := []string{
		"margaret.hamilton@example.com", // email; its local part is derived
		"Anna-Katharina",                // first name
		"Schmidt-Müller",                // last name
		"Anna-Katharina Schmidt-Müller", // full name
		"Acme Telecom Services",         // account name
		"", "   ",                       // empty values are ignored
	}
	tests := []struct {
		name    string
		pw      string
		rule    error // nil: accepted
		wantLen int   // PolicyError.Length, when rule != nil
	}{
		{"empty", "", ErrTooShort, 0},
		{"9 characters", "kettle-mo", ErrTooShort, 9},
		{"11 characters", "kettle-moss", ErrTooShort, 11},
		{"12 characters", "kettle-moss!", nil, 0},
		{"256 characters", strings.Repeat("kettle-moss!", 21) + "abcd", nil, 0},
		{"257 characters", strings.Repeat("kettle-moss!", 21) + "abcde", ErrTooLong, 257},
		{"256 two-byte characters", strings.Repeat("é", 256), nil, 0},
		{"257 two-byte characters", strings.Repeat("é", 257), ErrTooLong, 257},
		{"256 four-byte characters", strings.Repeat("𝄞", 256), nil, 0},
		{"much too long", strings.Repeat("x", 10000), ErrTooLong, 10000},
		{"invalid UTF-8", "kettle-moss \xff\xfe here", ErrNotUTF8, 0},

		// NFC changes the count: e + U+0301 composes to é.
		{"12 decomposed = 6 composed", strings.Repeat("e\u0301", 6), ErrTooShort, 6},
		{"11 composed + decomposed", "kettle-mos" + "e\u0301", ErrTooShort, 11},
		{"12 composed from 13 code points", "kettle-moss" + "e\u0301", nil, 0},
		{"512 decomposed = 256 composed", strings.Repeat("e\u0301", 256), nil, 0},
		{"Hangul jamo compose", strings.Repeat("\u1100\u1161", 11), ErrTooShort, 11},
		{"no precomposed form keeps both", strings.Repeat("q\u0301", 6), nil, 0},
		{"no compatibility mapping (ﬁ stays one)", strings.Repeat("ﬁ", 11), ErrTooShort, 11},

		// Emoji count in code points.
		{"12 emoji", strings.Repeat("🔑", 12), nil, 0},
		{"11 emoji", strings.Repeat("🔑", 11), ErrTooShort, 11},
		{"ZWJ family emoji is 5 code points", strings.Repeat("👨\u200d👩\u200d👧", 2), ErrTooShort, 10},
		{"three families", strings.Repeat("👨\u200d👩\u200d👧", 3), nil, 0},

		// Spaces: not trimmed, but a password of only spaces is refused.
		{"12 spaces", strings.Repeat(" ", 12), ErrOnlySpaces, 12},
		{"ideographic spaces and tabs", strings.Repeat("\u3000\t", 6), ErrOnlySpaces, 12},
		{"5 spaces", "     ", ErrTooShort, 5},
		{"leading spaces count", "  kettle-mos", nil, 0},
		{"trailing spaces count", "kettle-mos  ", nil, 0},
		{"a passphrase", "correct horse battery", nil, 0},

		// The common list, case-insensitively.
		{"common", "password1234", ErrCommon, 12},
		{"common in upper case", "PASSWORD1234", ErrCommon, 12},
		{"common in mixed case", "Summer2024!!", ErrCommon, 12},
		{"common keyboard walk", "1qaz2wsx3edc", ErrCommon, 12},
		{"common digits", "123456789012", ErrCommon, 12},
		{"common phrase with spaces", "Correct Horse Battery Staple", ErrCommon, 28},
		{"common, decomposed", "contrasen\u0303a123", ErrCommon, 13},
		{"common plus one character", "password1234x", nil, 0},

		// Personal data, ignoring case and spaces.
		{"email", "Margaret.Hamilton@Example.com", ErrPersonal, 29},
		{"email local part", "MARGARET.HAMILTON", ErrPersonal, 17},
		{"email local part with spaces", "margaret. hamilton", ErrPersonal, 18},
		{"first name", "anna-katharina", ErrPersonal, 14},
		{"full name", "Anna-Katharina Schmidt-Müller", ErrPersonal, 29},
		{"full name without the space", "anna-katharinaschmidt-müller", ErrPersonal, 28},
		{"full name decomposed", "anna-katharina schmidt-mu\u0308ller", ErrPersonal, 29},
		{"account name", "acmetelecomservices", ErrPersonal, 19},
		{"account name spaced out", "  ACME   Telecom\tServices ", ErrPersonal, 26},
		{"more than the account name", "Acme Telecom Services!", nil, 0},
		{"name inside a longer password", "I am Anna-Katharina!", nil, 0},
	}
	for _, tt := range tests {
		err := Check(tt.pw, person...)
		if tt.rule == nil {
			if err != nil {
				t.Errorf("%s: Check(%.30q) = %v, want nil", tt.name, tt.pw, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || !errors.Is(err, tt.rule) || pe.Length != tt.wantLen {
			t.Errorf("%s: Check(%.30q) = %#v, want a *PolicyError for %v with Length %d", tt.name, tt.pw, err, tt.rule, tt.wantLen)
		}
	}
}

func TestCheckWithoutPersonalData(t *testing.T) {
	if err := Check("acmetelecomservices"); err != nil {
		t.Errorf("Check with no personal data = %v, want nil", err)
	}
}

// TestCheckMessages checks that each rule has its own sentence and that the
// length rules say how long the password is.
func TestCheckMessages(t *testing.T) {
	tests := []struct {
		pw   string
		want string
	}{
		{"kettle-mo", "Use at least 12 characters; this password has 9."},
		{strings.Repeat("é", 300), "Use at most 256 characters; this password has 300."},
		{"\xff" + strings.Repeat("a", 12), "The password contains bytes that are not text; type it again."},
		{strings.Repeat(" ", 12), "The password must not be only spaces."},
		{"QwertyuiopAS", "This password is on a list of commonly used passwords; choose another."},
		{"Jane Doe Example", "The password must not be your email address or name, or the account's name."},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		err := Check(tt.pw, "janedoeexample")
		if err == nil || err.Error() != tt.want {
			t.Errorf("Check(%.20q) = %v, want %q", tt.pw, err, tt.want)
		}
		if seen[tt.want] {
			t.Errorf("message %q used for two rules", tt.want)
		}
		seen[tt.want] = true
	}
}

func TestNormalize(t *testing.T) {
	if got, want := Normalize("Cafe\u0301 "), "Café "; got != want {
		t.Errorf("Normalize(decomposed) = %q, want %q (NFC, no trimming)", got, want)
	}
	if got := Normalize("ﬁ ABC"); got != "ﬁ ABC" {
		t.Errorf("Normalize(%q) = %q, want it unchanged (no case folding, no compatibility mapping)", "ﬁ ABC", got)
	}
	// Every password Check accepts fits Hash's byte limit once normalised.
	if pw := Normalize(strings.Repeat("𝄞", MaxChars)); Check(pw) != nil || len(pw) > MaxLen {
		t.Errorf("the longest accepted password is %d bytes, want at most MaxLen (%d)", len(pw), MaxLen)
	}
}

func TestCommonList(t *testing.T) {
	if !strings.HasSuffix(commonList, "\n") || strings.Contains(commonList, "\r") {
		t.Error("common-passwords.txt must end with a newline and use LF line endings")
	}
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	if len(lines) < 1000 {
		t.Errorf("common list has %d entries, want at least 1000", len(lines))
	}
	if n := len(commonSet()); n != len(lines) {
		t.Errorf("common set has %d entries, file has %d lines: duplicates or blank lines", n, len(lines))
	}
	if !slices.IsSorted(lines) {
		t.Error("common-passwords.txt is not sorted (byte order)")
	}
	for i, l := range lines {
		n := utf8.RuneCountInString(l)
		switch {
		case n < MinChars || n > MaxChars:
			t.Errorf("line %d %q: %d characters, want %d to %d", i+1, l, n, MinChars, MaxChars)
		case !utf8.ValidString(l) || !norm.NFC.IsNormalString(l):
			t.Errorf("line %d %q: not NFC UTF-8", i+1, l)
		case strings.ToLower(l) != l:
			t.Errorf("line %d %q: not lower-case", i+1, l)
		case strings.TrimSpace(l) != l:
			t.Errorf("line %d %q: leading or trailing space", i+1, l)
		case i > 0 && lines[i-1] == l:
			t.Errorf("line %d %q: duplicate", i+1, l)
		}
	}
	for _, pw := range []string{"password1234", "123456789012", "qwertyuiopas", "iloveyou1234", "passwordpassword", "welcome12345", "summer2024!!"} {
		if !isCommon(pw) {
			t.Errorf("isCommon(%q) = false, want true", pw)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	commonSet()
	for b.Loop() {
		if err := Check("a reasonable passphrase", "someone@example.com", "Some", "One"); err != nil {
			b.Fatal(err)
		}
	}
}
