package consumer

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Each rule DecodeBody applies by hand says what the schemas' regular
// expression says (and, for a time, what time.Parse says), on strings made of
// the characters each expression turns on.
func TestRulesAreTheSchemasPatterns(t *testing.T) {
	r := rand.New(rand.NewPCG(testSeed(t), 6))
	gen := func(alphabet []string, maxLen int) string {
		var b strings.Builder
		for range r.IntN(maxLen + 1) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	split := func(s string) []string { return strings.Split(s, "") }
	var (
		id         = regexp.MustCompile(idPattern)
		replayID   = regexp.MustCompile(replayIDPattern)
		tm         = regexp.MustCompile(timePattern)
		noDigits   = regexp.MustCompile(maskedNoDigitsPattern)
		fewDigits  = regexp.MustCompile(maskedFewDigitsPattern)
		stars      = regexp.MustCompile(maskedStarsPattern)
		maskedNum  = regexp.MustCompile(maskedNumberPattern)
		nonBlank   = regexp.MustCompile(nonBlankPattern)
		hexChars   = split("0123456789abcdefABCDEFgz-_ \n")
		idChars    = split("09azAZ_-. +\n/é")
		digitChars = append(split("0123456789*** -x\n"), "\u0664", "\uff14", "\U0001d7d8", "\u00b2", "\u2028", "\ufffd", "é")
		numChars   = split("0123456789****..eE+--x \n")
		spaceChars = append(split(" \t\n\v\f\rx"), "\u0085", "\u00a0", "\u1680", "\u2000", "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", "é")
	)
	var seen [2][2]int // maskedCardNumber, eventTime: refused, accepted
	for range 50_000 {
		if s := gen(hexChars, 34); len(s) > 28 || r.IntN(4) == 0 {
			if isID([]byte(s)) != id.MatchString(s) {
				t.Fatalf("isID(%q) = %v", s, isID([]byte(s)))
			}
		}
		if s := gen(idChars, 66); isReplayID([]byte(s)) != replayID.MatchString(s) {
			t.Fatalf("isReplayID(%q) = %v", s, isReplayID([]byte(s)))
		}
		s := gen(digitChars, 24)
		masked := maskedCardNumber([]byte(s))
		if masked != (noDigits.MatchString(s) || fewDigits.MatchString(s) && stars.MatchString(s)) {
			t.Fatalf("maskedCardNumber(%q) = %v", s, masked)
		}
		seen[0][b2i(masked)]++
		if s := gen(numChars, 12); maskedNumberLiteral([]byte(s)) != (maskedNum.MatchString(s) && strings.Contains(s, "*")) {
			t.Fatalf("maskedNumberLiteral(%q) = %v", s, maskedNumberLiteral([]byte(s)))
		}
		if s := gen(spaceChars, 4); blank([]byte(s)) != !nonBlank.MatchString(s) || blank([]byte(s)) != (strings.TrimSpace(s) == "") {
			t.Fatalf("blank(%q) = %v", s, blank([]byte(s)))
		}
		s = timeString(r)
		got, shape, ok := eventTime([]byte(s))
		seen[1][b2i(ok)]++
		want, err := time.Parse(time.RFC3339Nano, s)
		if shape != tm.MatchString(s) || ok != (shape && err == nil) || ok && got != want {
			t.Fatalf("eventTime(%q) = %v, %v, %v; pattern %v, time.Parse %v, %v", s, got, shape, ok, tm.MatchString(s), want, err)
		}
	}
	if min(seen[0][0], seen[0][1], seen[1][0], seen[1][1]) < 2_500 {
		t.Fatalf("too few of a verdict (refused, accepted): masked card numbers %v, times %v", seen[0], seen[1])
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// timeString is an RFC 3339 time in UTC, or nearly: each part may be out of
// range or of another shape.
func timeString(r *rand.Rand) string {
	num := func(n, max int) string {
		v := r.IntN(max + 1)
		s := strings.Repeat("0", n) + itoa(v)
		s = s[len(s)-n:]
		if r.IntN(40) == 0 {
			s = s[:len(s)-1] + "x"
		}
		return s
	}
	year := num(4, 9999)
	if r.IntN(3) == 0 {
		year = []string{"2024", "2023", "2000", "1900", "2100", "0000", "0004"}[r.IntN(7)]
	}
	s := year + "-" + num(2, 13) + "-" + num(2, 32) + "T" + num(2, 24) + ":" + num(2, 60) + ":" + num(2, 60)
	if n := r.IntN(5); n > 0 {
		s += "." + num(n, 9999)[:n]
	}
	s += []string{"Z", "Z", "Z", "z", "+00:00", ""}[r.IntN(6)]
	if r.IntN(30) == 0 {
		i := r.IntN(len(s))
		s = s[:i] + string("T:-. 0"[r.IntN(6)]) + s[i+1:]
	}
	return s
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// Every day of every month of a leap year, a common year and the years 0 and
// 9999: eventTime agrees with time.Parse.
func TestEventTimeEveryDay(t *testing.T) {
	for _, year := range []string{"0000", "1900", "2000", "2023", "2024", "9999"} {
		for month := 1; month <= 12; month++ {
			for day := 1; day <= 31; day++ {
				s := year + "-" + pad2(month) + "-" + pad2(day) + "T23:59:59.999Z"
				got, shape, ok := eventTime([]byte(s))
				want, err := time.Parse(time.RFC3339Nano, s)
				if !shape || ok != (err == nil) || ok && got != want {
					t.Errorf("eventTime(%q) = %v, %v, %v; time.Parse %v, %v", s, got, shape, ok, want, err)
				}
			}
		}
	}
}

func pad2(v int) string { return string([]byte{byte('0' + v/10), byte('0' + v%10)}) }
