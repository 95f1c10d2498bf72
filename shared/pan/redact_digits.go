package pan

// Redaction, the digit stream: which characters are decimal digits (any script), and how each text or number leaf feeds its digits.

import (
	"math/bits"
	"sort"
	"unicode"
	"unicode/utf8"
)

// ---- Characters ----

// ndRange is a range of decimal digits: blocks of ten, 0 to 9 in order.
type ndRange struct{ lo, hi rune }

var ndRanges = func() []ndRange {
	var rs []ndRange
	for _, r := range unicode.Nd.R16 {
		rs = append(rs, ndRange{rune(r.Lo), rune(r.Hi)})
	}
	for _, r := range unicode.Nd.R32 {
		rs = append(rs, ndRange{rune(r.Lo), rune(r.Hi)})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	return rs
}()

// digitValue returns the value of a decimal digit of any script (unicode.IsDigit):
// its position in its block of ten.
func digitValue(r rune) (uint8, bool) {
	if r < utf8.RuneSelf {
		if r >= '0' && r <= '9' {
			return uint8(r - '0'), true
		}
		return 0, false
	}
	if !unicode.IsDigit(r) {
		return 0, false
	}
	k := sort.Search(len(ndRanges), func(k int) bool { return ndRanges[k].hi >= r })
	if k == len(ndRanges) || r < ndRanges[k].lo {
		return 0, false // not reached: unicode.Nd's ranges have stride 1
	}
	return uint8((r - ndRanges[k].lo) % 10), true
}

// leaf tracks a string or number inside a card-number field's value.
type leaf struct {
	first int   // its first digit in r.dig
	pos   int   // digits and '*'s seen
	head  int   // digits among the first keepHead positions
	tail  uint8 // low keepTail bits: whether each of the last positions is a digit
	star  bool  // holds a '*'
}

func (l *leaf) position(digit bool) {
	var b uint8
	if digit {
		b = 1
		if l.pos < keepHead {
			l.head++
		}
	}
	l.tail = (l.tail<<1 | b) & (1<<keepTail - 1)
	l.pos++
}

func (r *redactor) addDigit(v uint8) {
	if r.brk {
		r.runs = append(r.runs, int32(len(r.dig)))
		r.brk = false
	}
	r.dig = append(r.dig, v)
}

// Classes of ASCII characters in the stream.
const (
	classOther uint8 = iota
	classDigit
	classLetter
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c >= '0' && c <= '9':
			t[c] = classDigit
		case c|0x20 >= 'a' && c|0x20 <= 'z':
			t[c] = classLetter
		}
	}
	return t
}()

// feedText adds the decoded characters of a key or string to the stream.
func (r *redactor) feedText(s []byte, l *leaf) {
	r.st.work += uint64(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if l == nil && c < utf8.RuneSelf && asciiClass[c] != classDigit {
			// Outside card-number fields, a stretch of ASCII without digits
			// only says whether it holds a letter.
			j := i
			for j < len(s) && s[j] < utf8.RuneSelf && asciiClass[s[j]] != classDigit {
				r.brk = r.brk || asciiClass[s[j]] == classLetter
				j++
			}
			i = j
			continue
		}
		if c < utf8.RuneSelf {
			i++
			switch {
			case c-'0' <= 9:
				r.addDigit(c - '0')
				if l != nil {
					l.position(true)
				}
			case (c|0x20)-'a' < 26:
				r.brk = true
			case c == '*' && l != nil:
				l.star = true
				l.position(false)
			}
			continue
		}
		rn, size := utf8.DecodeRune(s[i:])
		i += size
		if v, ok := digitValue(rn); ok {
			r.addDigit(v)
			if l != nil {
				l.position(true)
			}
		} else if unicode.IsLetter(rn) {
			r.brk = true
		}
	}
}

// feedNumber adds a number's literal characters to the stream: digits; '-',
// '+' and '.' are separators; 'e' and 'E' are letters.
func (r *redactor) feedNumber(s []byte, l *leaf) {
	r.st.work += uint64(len(s))
	for _, c := range s {
		switch {
		case c-'0' <= 9:
			r.addDigit(c - '0')
			if l != nil {
				l.position(true)
			}
		case c == 'e' || c == 'E':
			r.brk = true
		}
	}
}

// endLeaf masks a card-number field's string or number (the rule of Mask) and
// records its digits as a known card number.
func (r *redactor) endLeaf(l *leaf) {
	n := len(r.dig) - l.first
	from, to := l.first, len(r.dig)
	if l.pos >= MinPartialLength {
		from += l.head
		to -= bits.OnesCount8(l.tail)
	}
	r.st.work += uint64(n)
	if !l.star && n >= minKnown && n <= maxWindow {
		var v uint64
		for _, d := range r.dig[l.first:] {
			v = v*10 + uint64(d)
		}
		r.addKnown(n, v)
	}
	for i := from; i < to; i++ {
		r.dig[i] |= maskBit
	}
}
