package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The policy for a new password, after NIST SP 800-63B: a length range, any
// Unicode, no composition rules ("one digit, one symbol"), and a refusal of
// passwords that are commonly used or that are the person's own email
// address or name.
//
// Normalisation: a password is put in Unicode Normalization Form C (NFC)
// before it is counted, compared or hashed, so that "é" typed as one code
// point (U+00E9) and as "e" + U+0301 are the same password, whichever
// keyboard or operating system produced it. Nothing else is changed: there is
// no case folding (the hash is case-sensitive), no compatibility mapping
// (NFKC would turn "ﬁ" into "fi" and full-width letters into ASCII), and no
// trimming — leading, trailing and inner spaces are part of the password.
// The one exception is a password made only of spaces, which is refused.
// Lengths are counted in Unicode code points of the NFC form, so an emoji
// made of several code points counts as several characters.
//
// Callers must hash and verify Normalize(pw), not pw, for the normalisation
// to hold at sign-in.
const (
	MinChars = MinLen // fewest code points in a new password
	MaxChars = 256    // most code points in a new password
)

// Sentinels for the rules of Check. Check's errors are *PolicyError values
// that match exactly one of them with errors.Is; their Error text is a
// sentence for the person choosing the password.
var (
	ErrNotUTF8    = errors.New("password: not valid UTF-8")
	ErrTooShort   = errors.New("password: shorter than the minimum length")
	ErrOnlySpaces = errors.New("password: only spaces")
	ErrCommon     = errors.New("password: on the list of common passwords")
	ErrPersonal   = errors.New("password: equal to the person's email address or name")
	// ErrTooLong (password.go) is the sentinel for too many code points.
)

// A PolicyError says which rule a new password breaks. Rule is one of the
// sentinels above (or ErrTooLong); Length is the password's length in code
// points after normalisation (0 when it is not valid UTF-8).
type PolicyError struct {
	Rule   error
	Length int
}

// Error returns a sentence the person can act on, naming the rule.
func (e *PolicyError) Error() string {
	switch e.Rule {
	case ErrNotUTF8:
		return "The password contains bytes that are not text; type it again."
	case ErrTooShort:
		return fmt.Sprintf("Use at least %d characters; this password has %d.", MinChars, e.Length)
	case ErrTooLong:
		return fmt.Sprintf("Use at most %d characters; this password has %d.", MaxChars, e.Length)
	case ErrOnlySpaces:
		return "The password must not be only spaces."
	case ErrCommon:
		return "This password is on a list of commonly used passwords; choose another."
	case ErrPersonal:
		return "The password must not be your email address or name, or the account's name."
	}
	return "The password is not acceptable."
}

// Unwrap returns Rule, so that errors.Is(err, ErrTooShort) and the like work.
func (e *PolicyError) Unwrap() error { return e.Rule }

// Normalize returns pw in Unicode Normalization Form C, the form in which
// passwords are checked, hashed and verified. It does not fold case or trim.
func Normalize(pw string) string { return norm.NFC.String(pw) }

// Check returns a *PolicyError when pw is not acceptable as a new password,
// and nil when it is. The rules, in the order they are checked:
//
//   - pw is valid UTF-8;
//   - pw has MinChars to MaxChars code points after NFC normalisation;
//   - pw is not made only of white space;
//   - pw is not on the shipped list of common passwords, compared
//     case-insensitively;
//   - pw is not equal, case-insensitively and ignoring all white space, to
//     any of personal: pass the email address, first name, last name, the
//     full name and the account name. For a personal value that is an email
//     address, its local part (before the last "@") is also refused. Empty
//     values are ignored.
func Check(pw string, personal ...string) error {
	if !utf8.ValidString(pw) {
		return &PolicyError{Rule: ErrNotUTF8}
	}
	pw = Normalize(pw)
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinChars:
		return &PolicyError{Rule: ErrTooShort, Length: n}
	case n > MaxChars:
		return &PolicyError{Rule: ErrTooLong, Length: n}
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		return &PolicyError{Rule: ErrOnlySpaces, Length: n}
	case isCommon(pw):
		return &PolicyError{Rule: ErrCommon, Length: n}
	}
	squeezed := squeeze(pw)
	for _, p := range personal {
		if !utf8.ValidString(p) {
			continue
		}
		candidates := []string{p}
		if at := strings.LastIndexByte(p, '@'); at > 0 {
			candidates = append(candidates, p[:at])
		}
		for _, c := range candidates {
			if c := squeeze(Normalize(c)); c != "" && c == squeezed {
				return &PolicyError{Rule: ErrPersonal, Length: n}
			}
		}
	}
	return nil
}

// squeeze lower-cases s and drops its white space.
func squeeze(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}

// commonList is a list of widely used passwords of at least MinChars
// characters: lower-case, NFC, one a line, sorted. Shorter ones are refused
// by the length rule anyway.
//
//go:embed common-passwords.txt
var commonList string

// commonSet is commonList as a set, built on first use.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	lines := strings.Split(strings.TrimSuffix(commonList, "\n"), "\n")
	set := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		set[l] = struct{}{}
	}
	return set
})

// isCommon reports whether the NFC password pw is on the common list,
// compared case-insensitively.
func isCommon(pw string) bool {
	_, ok := commonSet()[strings.ToLower(pw)]
	return ok
}
