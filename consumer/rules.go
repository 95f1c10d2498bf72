package consumer

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// The rules DecodeBody applies to a value's text, written out by hand. Each
// is the rule of a regular expression the schemas state (schema.go:
// idPattern, timePattern, replayIDPattern, the masked patterns,
// nonBlankPattern); rules_test.go holds each to its expression.

// isID reports whether s is 32 lowercase hex characters (idPattern).
func isID(s []byte) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c-'0' < 10 || c-'a' < 6) {
			return false
		}
	}
	return true
}

// isReplayID reports whether s is 1 to 64 letters, digits, '-' or '_'
// (replayIDPattern).
func isReplayID(s []byte) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c-'0' < 10 || (c|0x20)-'a' < 26 || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// eventTime reads s as time.Parse(time.RFC3339Nano, s) does. shape reports
// whether s has timePattern's shape (RFC 3339 in UTC, at most milliseconds),
// ok whether it is also a time (a day the month has).
func eventTime(s []byte) (t time.Time, shape, ok bool) {
	// 2006-01-02T15:04:05Z, or with .0 to .000 before the Z.
	if len(s) < 20 || len(s) == 21 || len(s) > 24 {
		return time.Time{}, false, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range s[i : i+n] {
			if c-'0' >= 10 {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' ||
		year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false, false
	}
	nsec := 0
	if len(s) > 20 {
		if s[19] != '.' {
			return time.Time{}, false, false
		}
		digits := len(s) - 21
		if nsec = num(20, digits); nsec < 0 {
			return time.Time{}, false, false
		}
		for range 9 - digits {
			nsec *= 10
		}
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // a day the month does not have: time.Parse refuses it
		return time.Time{}, true, false
	}
	return t, true, true
}

// maskedCardNumber reports whether s is a masked card number: it holds no
// digit (of any script: unicode.IsDigit, as the receivers count them), or 1
// to 10 digits and at least 5 '*' (maskedNoDigitsPattern, or
// maskedFewDigitsPattern and maskedStarsPattern).
func maskedCardNumber(s []byte) bool {
	addWork(len(s))
	n, stars := 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c-'0' < 10 {
				n++
			} else if c == '*' {
				stars++
			}
			i++
			continue
		}
		r, w := utf8.DecodeRune(s[i:])
		if unicode.IsDigit(r) {
			n++
		}
		i += w
	}
	return n == 0 || n <= 10 && stars >= 5
}

// maskedNumberLiteral reports whether s is a number literal whose digits the
// receiver masked: maskedNumberPattern, and a '*'.
func maskedNumberLiteral(s []byte) bool {
	addWork(len(s))
	star := false
	run := func(i int) int { // [0-9*]+: the index after it, or -1
		j := i
		for j < len(s) && (s[j]-'0' < 10 || s[j] == '*') {
			star = star || s[j] == '*'
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i = run(i); i < 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		if i = run(i + 1); i < 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i = run(i); i < 0 {
			return false
		}
	}
	return i == len(s) && star
}

// blank reports whether s holds only white space as strings.TrimSpace sees
// it (the opposite of nonBlankPattern).
func blank(s []byte) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c != ' ' && (c < '\t' || c > '\r') {
				return false
			}
			i++
			continue
		}
		r, w := utf8.DecodeRune(s[i:])
		if !unicode.IsSpace(r) {
			return false
		}
		i += w
	}
	return true
}
