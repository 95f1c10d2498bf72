package pan

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"

	"webhooks/shared/jsonx"
)

// ErrInvalid is returned (wrapped, with a byte offset but never a value) by
// Redact for a document that is not one valid JSON value in valid UTF-8, or
// that repeats a key in one object.
var ErrInvalid = errors.New("pan: not a valid JSON document")

const (
	minWindow = 13 // shortest card number
	maxWindow = 19 // longest card number
	minKnown  = 12 // fewest digits of a card-number field's value searched for elsewhere
	keepHead  = 6  // digits shown at the start of a masked card number
	keepTail  = 4  // digits shown at its end
)

// Token kinds.
const (
	kNone uint8 = iota
	kObj
	kObjEnd
	kArr
	kArrEnd
	kKey
	kStr
	kNum
	kLit
)

// Token flags.
const (
	fEsc     uint8 = 1 << iota // a string with escapes
	fKeep                      // part of a kept value: written as sent
	fMasked                    // some digit of the token is masked
	fRenamed                   // a key with a suffix: its name is r.renamed[dig]
)

// token is one JSON token of the output, in document order. Dropped members
// have no tokens.
type token struct {
	start, end  int32 // raw bytes in the document; strings include their quotes
	dig         int32 // the token's first digit in r.dig; its digits end where the next token's begin
	kind, flags uint8
}

// Contexts of a value. The kept ones come last: ctx >= cKeep is a value
// under a kept name.
const (
	cNone   uint8 = iota
	cCard         // inside the value of a card-number field
	cDrop         // inside a dropped member
	cKeep         // a kept (scalar) value
	cKeepIf       // the value of a Policy.KeepIf member, not yet read: r.keepIf decides
)

type frame struct {
	obj   bool
	ctx   uint8
	keys  int // this object's first entry in keyRefs
	arena int // and in keyArena
}

// keyRef is a key of an open object: its decoded name is doc[start:end], or
// keyArena[start:end] when it holds escapes.
type keyRef struct {
	start, end int32
	tok        int32 // its token, -1 for a dropped member
	arena      bool
}

// stats are what a call did, for tests.
type stats struct {
	work          uint64 // inner-loop steps, to check that the work is linear
	maskedNumbers int    // numbers written as strings
	renamedKeys   int    // keys given a suffix
	renameBytes   int    // bytes of those suffixes
}

type redactor struct {
	p      Policy
	doc    []byte
	docStr string                 // doc as a string, for Policy.Drop (made on first use)
	keepIf func(text string) bool // the Policy.KeepIf function of the member being read
	toks   []token

	// The stream: every digit in document order (its value, and maskBit once
	// it is masked), and the first digit of each run (runs are consecutive).
	dig  []uint8
	runs []int32
	brk  bool // a letter was seen since the last digit: the next digit starts a run

	known      [maxWindow + 1]map[uint64]struct{} // known card numbers by length, as integers
	knownLens  []int
	knownBloom []uint64 // a bit per hash of (length, number) of the known numbers
	bloomBits  int

	keyRefs  []keyRef // keys of the open objects (for the duplicate check)
	keyArena []byte   // decoded names of those that hold escapes
	objKeys  []int32  // key tokens of each closed object, flat
	objEnds  []int32  // end of each object's keys in objKeys
	renamed  []string // names of the keys given a suffix
	seed     maphash.Seed

	// Reused buffers.
	scratch, scratch2 []byte
	dupTab            []dupEntry
	pa, pb            []uint8 // prefix sums (luhnWindows, then settle)
	stk, pend         []int32
	sv                []uint64

	st stats
}

// redact is Redact, also returning what it did.
func (p Policy) redact(doc []byte) (out []byte, st stats, err error) {
	if len(doc) >= math.MaxInt32 {
		return nil, st, fmt.Errorf("%w: document too large", ErrInvalid)
	}
	// Every key or value follows a '{', '[', ',' or ':' (or is the whole
	// document), and every container has a closing token: counting those
	// bytes (strings too) bounds the number of tokens.
	// The number of ':' bounds the number of keys, and of '{' the number of
	// objects: the lists of keys start at those sizes (up to a point).
	var n [4]int
	for k, c := range []string{"{", "[", ",", ":"} {
		n[k] = bytes.Count(doc, []byte(c))
	}
	ntok := 1 + n[0] + n[1] + n[2] + n[3] + n[0] + n[1]
	keys := min(n[3], 256)
	r := redactors.Get().(*redactor)
	defer r.release()
	*r = redactor{p: p, doc: doc,
		toks:    empty(r.toks, min(ntok, len(doc)+1)),
		dig:     empty(r.dig, len(doc)/4+16),
		runs:    r.runs[:0],
		keyRefs: empty(r.keyRefs, keys),
		objKeys: empty(r.objKeys, keys),
		objEnds: empty(r.objEnds, min(n[0], 64)),
		// Storage only: each is cleared, or written before it is read.
		keyArena: r.keyArena[:0], scratch: r.scratch[:0], scratch2: r.scratch2[:0],
		dupTab: r.dupTab, pa: r.pa, pb: r.pb, stk: r.stk[:0], pend: r.pend[:0], sv: r.sv,
	}
	r.st.work += uint64(len(doc)) * 4 / 64 // bytes.Count reads 64 bytes a step
	if err := r.parse(); err != nil {
		return nil, r.st, err
	}
	r.maskRuns()
	r.markTokens()
	r.renameKeys()
	out = r.emit()
	return out, r.st, nil
}

// redactors keeps redactors for reuse: Redact allocates little more than its
// output. A redactor starts every document with empty lists (above), and is
// kept only while its storage is small; what held digits or decoded text of
// a document is zeroed when it is put back.
var redactors = sync.Pool{New: func() any { return new(redactor) }}

// maxPooledTokens bounds the storage of a redactor kept for reuse.
const maxPooledTokens = 4096

func (r *redactor) release() {
	if cap(r.toks) > maxPooledTokens || cap(r.dig) > 4*maxPooledTokens {
		return
	}
	for _, b := range [][]byte{r.dig, r.keyArena, r.scratch, r.scratch2, r.pa, r.pb} {
		clear(b[:cap(b)])
	}
	clear(r.sv[:cap(r.sv)])
	*r = redactor{
		toks: r.toks, dig: r.dig, runs: r.runs, keyRefs: r.keyRefs, objKeys: r.objKeys, objEnds: r.objEnds,
		keyArena: r.keyArena, scratch: r.scratch, scratch2: r.scratch2,
		dupTab: r.dupTab, pa: r.pa, pb: r.pb, stk: r.stk, pend: r.pend, sv: r.sv,
	}
	redactors.Put(r)
}

// empty returns s emptied, with room for n elements.
func empty[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, 0, n)
	}
	return s[:0]
}

func (r *redactor) errAt(i int, what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrInvalid, what, i)
}

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

// ---- Parsing: validates the document, records the tokens and builds the stream ----

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (r *redactor) skipWS(i int) int {
	j := i
	for j < len(r.doc) && isWS(r.doc[j]) {
		j++
	}
	r.st.work += uint64(j-i) + 1
	return j
}

func isHex(c byte) bool { return c-'0' <= 9 || (c|0x20)-'a' < 6 }

// scanString validates the string starting at doc[i] == '"' and returns the
// index after its closing quote and whether it holds escapes.
func (r *redactor) scanString(i int) (int, bool, error) {
	doc := r.doc
	esc := false
	j := i + 1
	for j < len(doc) {
		c := doc[j]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			j++
			continue
		}
		switch {
		case c == '"':
			r.st.work += uint64(j + 1 - i)
			return j + 1, esc, nil
		case c == '\\':
			esc = true
			if j+1 >= len(doc) {
				return 0, false, r.errAt(j, "unterminated escape")
			}
			switch doc[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(doc) || !isHex(doc[j+2]) || !isHex(doc[j+3]) || !isHex(doc[j+4]) || !isHex(doc[j+5]) {
					return 0, false, r.errAt(j, "invalid \\u escape")
				}
				j += 6
			default:
				return 0, false, r.errAt(j, "invalid escape")
			}
		case c < 0x20:
			return 0, false, r.errAt(j, "control character in string")
		case c < utf8.RuneSelf:
			j++
		default:
			rn, size := utf8.DecodeRune(doc[j:])
			if rn == utf8.RuneError && size == 1 {
				return 0, false, r.errAt(j, "invalid UTF-8")
			}
			j += size
		}
	}
	return 0, false, r.errAt(i, "unterminated string")
}

// content returns the decoded characters of a string token (scratch may be used).
func (r *redactor) content(start, end int, esc bool) []byte {
	raw := r.doc[start+1 : end-1]
	if !esc {
		return raw
	}
	r.st.work += uint64(len(raw))
	r.scratch = jsonx.AppendUnquoted(r.scratch[:0], raw)
	return r.scratch
}

func (r *redactor) scanNumber(i int) (int, error) {
	doc, j := r.doc, i
	digits := func() bool {
		k := j
		for j < len(doc) && doc[j]-'0' <= 9 {
			j++
		}
		return j > k
	}
	if doc[j] == '-' {
		j++
	}
	switch {
	case j < len(doc) && doc[j] == '0':
		j++
	case !digits():
		return 0, r.errAt(i, "invalid number")
	}
	if j < len(doc) && doc[j] == '.' {
		j++
		if !digits() {
			return 0, r.errAt(i, "invalid number")
		}
	}
	if j < len(doc) && (doc[j] == 'e' || doc[j] == 'E') {
		j++
		if j < len(doc) && (doc[j] == '+' || doc[j] == '-') {
			j++
		}
		if !digits() {
			return 0, r.errAt(i, "invalid number")
		}
	}
	r.st.work += uint64(j - i)
	return j, nil
}

func (r *redactor) addTok(kind uint8, start, end int, ctx uint8) *token {
	t := token{start: int32(start), end: int32(end), dig: int32(len(r.dig)), kind: kind}
	if ctx == cKeep {
		t.flags |= fKeep
		r.brk = true // a kept value breaks runs, like a letter
	}
	r.toks = append(r.toks, t)
	return &r.toks[len(r.toks)-1]
}

// memberCtx is the context of the value of the member named name.
// The key's text is doc[start:end]; esc says whether it holds escapes.
func (r *redactor) memberCtx(parent uint8, name []byte, start, end int, esc bool, topLevel bool) uint8 {
	if parent == cDrop {
		return cDrop
	}
	r.st.work += uint64(len(name))
	if r.p.Drop != nil {
		// Drop takes a string: a key without escapes is a substring of one
		// copy of the document, made once, rather than a copy of its own.
		s := ""
		if esc {
			s = string(name)
		} else {
			if r.docStr == "" {
				r.docStr = string(r.doc)
			}
			s = r.docStr[start+1 : end-1]
		}
		if r.p.Drop(s) {
			return cDrop
		}
	}
	if parent == cKeep || parent == cCard {
		return parent
	}
	if cardKey(name) {
		return cCard
	}
	if topLevel {
		if r.p.Keep[string(name)] {
			return cKeep // Keep wins over KeepIf
		}
		if r.p.KeepIf != nil {
			if f := r.p.KeepIf[string(name)]; f != nil {
				r.keepIf = f
				return cKeepIf
			}
		}
	}
	return cNone
}

// keptCtx is the context of the value at doc[i] under a kept name (ctx is
// cKeep or cKeepIf): cKeep for a scalar under a Keep name, and for a string
// under a KeepIf name whose decoded text r.keepIf accepts; cNone (redacted
// like any other value) for anything else: an object or array, or under a
// KeepIf name a number, a literal or a string the function refuses. A text
// holding '*' is never kept (the function is not asked). The function gets a
// string of its own unless Drop has already made one copy of the document:
// at most one small allocation per KeepIf name in a valid document (its
// top-level keys are unique).
func (r *redactor) keptCtx(ctx uint8, i int) uint8 {
	switch c := r.doc[i]; {
	case c == '{' || c == '[':
		return cNone
	case ctx == cKeep:
		return cKeep
	case c != '"':
		return cNone
	}
	end, esc, err := r.scanString(i) // and again as the value: read twice at most
	if err != nil {
		return cNone // reported when the value is read
	}
	return r.keptIf(i, end, esc)
}

// keptIf is keptCtx of the KeepIf member's string doc[start:end] (esc: it
// holds escapes).
func (r *redactor) keptIf(start, end int, esc bool) uint8 {
	text := r.content(start, end, esc)
	r.st.work += uint64(len(text))
	if bytes.IndexByte(text, '*') >= 0 {
		return cNone
	}
	s := ""
	if !esc && r.docStr != "" {
		s = r.docStr[start+1 : end-1]
	} else {
		s = string(text)
	}
	if r.keepIf(s) {
		return cKeep
	}
	return cNone
}

// refName returns the decoded name of a key of an open object.
func (r *redactor) refName(k keyRef) []byte {
	if k.arena {
		return r.keyArena[k.start:k.end]
	}
	return r.doc[k.start:k.end]
}

// Parser states.
const (
	sValue      = iota // a value is expected
	sValueOrEnd        // after '['
	sKeyOrEnd          // after '{'
	sKey               // after ',' in an object
	sAfter             // after a value
)

func (r *redactor) parse() error {
	doc := r.doc
	stack := make([]frame, 0, 8)
	ctx := cNone
	state := sValue
	r.brk = true
	i := 0
	for {
		i = r.skipWS(i)
		switch state {
		case sValueOrEnd:
			if i < len(doc) && doc[i] == ']' {
				if err := r.closeContainer(&stack, i); err != nil {
					return err
				}
				i++
				state = sAfter
				continue
			}
			ctx = stack[len(stack)-1].ctx
			state = sValue
		case sKeyOrEnd:
			if i < len(doc) && doc[i] == '}' {
				if err := r.closeContainer(&stack, i); err != nil {
					return err
				}
				i++
				state = sAfter
				continue
			}
			state = sKey
		case sKey:
			if i >= len(doc) || doc[i] != '"' {
				return r.errAt(i, "key expected")
			}
			end, esc, err := r.scanString(i)
			if err != nil {
				return err
			}
			name := r.content(i, end, esc)
			f := &stack[len(stack)-1]
			mctx := r.memberCtx(f.ctx, name, i, end, esc, len(stack) == 1)
			ref := keyRef{start: int32(i + 1), end: int32(end - 1), tok: -1}
			if esc {
				ref = keyRef{start: int32(len(r.keyArena)), tok: -1, arena: true}
				r.keyArena = append(r.keyArena, name...)
				ref.end = int32(len(r.keyArena))
			}
			if mctx != cDrop {
				ref.tok = int32(len(r.toks))
				t := r.addTok(kKey, i, end, f.ctx)
				if esc {
					t.flags |= fEsc
				}
				if f.ctx != cKeep {
					r.feedText(name, nil)
				}
			}
			r.keyRefs = append(r.keyRefs, ref)
			i = r.skipWS(end)
			if i >= len(doc) || doc[i] != ':' {
				return r.errAt(i, "':' expected")
			}
			i++
			ctx = mctx
			state = sValue
		case sValue:
			if i >= len(doc) {
				return r.errAt(i, "value expected")
			}
			state = sAfter
			c := doc[i]
			if ctx >= cKeep {
				ctx = r.keptCtx(ctx, i)
			}
			switch {
			case c == '{' || c == '[':
				f := frame{obj: c == '{', ctx: ctx, keys: len(r.keyRefs), arena: len(r.keyArena)}
				state = sValueOrEnd
				kind := kArr
				if f.obj {
					state = sKeyOrEnd
					kind = kObj
				}
				if ctx != cDrop {
					r.addTok(kind, i, i+1, ctx)
				}
				stack = append(stack, f)
				i++
			case c == '"':
				end, esc, err := r.scanString(i)
				if err != nil {
					return err
				}
				if ctx != cDrop {
					t := r.addTok(kStr, i, end, ctx)
					if esc {
						t.flags |= fEsc
					}
					if ctx != cKeep {
						var l *leaf
						if ctx == cCard {
							l = &leaf{first: len(r.dig)}
						}
						r.feedText(r.content(i, end, esc), l)
						if l != nil {
							r.endLeaf(l)
						}
					}
				}
				i = end
			case c == '-' || c-'0' <= 9:
				end, err := r.scanNumber(i)
				if err != nil {
					return err
				}
				if ctx != cDrop {
					r.addTok(kNum, i, end, ctx)
					if ctx != cKeep {
						var l *leaf
						if ctx == cCard {
							l = &leaf{first: len(r.dig)}
						}
						r.feedNumber(doc[i:end], l)
						if l != nil {
							r.endLeaf(l)
						}
					}
				}
				i = end
			default:
				var lit string
				switch c {
				case 't':
					lit = "true"
				case 'f':
					lit = "false"
				case 'n':
					lit = "null"
				}
				if lit == "" || !bytes.HasPrefix(doc[i:], []byte(lit)) {
					return r.errAt(i, "value expected")
				}
				if ctx != cDrop {
					r.addTok(kLit, i, i+len(lit), ctx)
					r.brk = true // true, false and null are letters
				}
				i += len(lit)
			}
		case sAfter:
			if len(stack) == 0 {
				if i != len(doc) {
					return r.errAt(i, "data after the value")
				}
				return nil
			}
			f := stack[len(stack)-1]
			switch {
			case i >= len(doc):
				return r.errAt(i, "unexpected end")
			case doc[i] == ',':
				i++
				if f.obj {
					state = sKey
				} else {
					ctx = f.ctx
					state = sValue
				}
			case f.obj && doc[i] == '}', !f.obj && doc[i] == ']':
				if err := r.closeContainer(&stack, i); err != nil {
					return err
				}
				i++
			default:
				return r.errAt(i, "',' or end of container expected")
			}
		}
	}
}

// closeContainer pops the innermost container, closed at doc[i]. For an
// object it checks that no key repeats and records its keys for renaming.
func (r *redactor) closeContainer(stack *[]frame, i int) error {
	f := (*stack)[len(*stack)-1]
	*stack = (*stack)[:len(*stack)-1]
	if f.obj {
		if r.hasDuplicate(r.keyRefs[f.keys:]) {
			return r.errAt(i, "duplicate key in the object ending")
		}
		if f.ctx != cDrop && f.ctx != cKeep {
			n := len(r.objKeys)
			r.st.work += uint64(len(r.keyRefs) - f.keys)
			for _, k := range r.keyRefs[f.keys:] {
				if k.tok >= 0 {
					r.objKeys = append(r.objKeys, k.tok)
				}
			}
			if len(r.objKeys) > n {
				r.objEnds = append(r.objEnds, int32(len(r.objKeys)))
			}
		}
		r.keyRefs = r.keyRefs[:f.keys]
		r.keyArena = r.keyArena[:f.arena]
	}
	if f.ctx != cDrop {
		kind := kArrEnd
		if f.obj {
			kind = kObjEnd
		}
		r.addTok(kind, i, i+1, f.ctx)
	}
	return nil
}

// hasDuplicate reports whether two keys of an object are equal: pairwise for
// up to 32 keys, else through a table of their hashes, each hit checked
// exactly.
func (r *redactor) hasDuplicate(keys []keyRef) bool {
	if len(keys) <= 32 {
		// Pairwise, first by length and first and last bytes.
		var sig [32]uint32
		for a, k := range keys {
			if name := r.refName(k); len(name) > 0 {
				sig[a] = uint32(len(name))<<16 | uint32(name[0])<<8 | uint32(name[len(name)-1])
			}
		}
		for a := range keys {
			for b := a + 1; b < len(keys); b++ {
				r.st.work++
				if sig[a] == sig[b] {
					r.st.work += uint64(keys[a].end - keys[a].start)
					if bytes.Equal(r.refName(keys[a]), r.refName(keys[b])) {
						return true
					}
				}
			}
		}
		return false
	}
	// An open-addressing table of the names' hashes (random seed: no input
	// can make the probes long), each hit compared exactly. Its storage is
	// reused from object to object and cleared as far as this object needs.
	r.initSeed()
	size := 16
	for size < 2*len(keys) {
		size *= 2
	}
	tab := grow(r.dupTab, size)
	clear(tab)
	r.dupTab = tab
	r.st.work += uint64(size) / 8
	mask := uint64(size - 1)
	for i, k := range keys {
		name := r.refName(k)
		r.st.work += uint64(len(name)) + 1
		h := maphash.Bytes(r.seed, name)
		for j := h & mask; ; j = (j + 1) & mask {
			e := &tab[j]
			if e.key == 0 {
				*e = dupEntry{hash: h, key: int32(i + 1)}
				break
			}
			r.st.work++
			if e.hash == h && bytes.Equal(r.refName(keys[e.key-1]), name) {
				return true
			}
		}
	}
	return false
}

// dupEntry is a slot of hasDuplicate's table: a name's hash and its key
// (index + 1; 0 is an empty slot).
type dupEntry struct {
	hash uint64
	key  int32
}

func (r *redactor) initSeed() {
	if r.seed == (maphash.Seed{}) {
		r.seed = maphash.MakeSeed()
	}
}

// ---- Masking ----

// maskBit marks a masked digit in r.dig; the low bits are its value.
const maskBit = 0x10

// dbl is a digit's Luhn value when it is doubled.
var dbl = [16]uint8{0, 2, 4, 6, 8, 1, 3, 5, 7, 9}

var pow10 = func() (p [maxWindow + 1]uint64) {
	p[0] = 1
	for i := 1; i <= maxWindow; i++ {
		p[i] = p[i-1] * 10 // 10^19 < 2^64
	}
	return
}()

// addKnown records the digits of a card-number field's value, read as an
// integer, as a known card number of L digits.
func (r *redactor) addKnown(L int, v uint64) {
	if r.known[L] == nil {
		r.known[L] = map[uint64]struct{}{}
		r.knownLens = append(r.knownLens, L)
	}
	r.known[L][v] = struct{}{}
}

// bloomHash is where a known number of L digits has its bit in knownBloom.
func bloomHash(L int, v uint64, bits int) uint64 {
	return ((v + uint64(L)) * 0x9E3779B97F4A7C15) >> (64 - bits)
}

// buildBloom sets up knownBloom: about 64 bits per known number, so that
// nearly every window that is not a known number is told so without a map
// lookup.
func (r *redactor) buildBloom() {
	n := 0
	for _, L := range r.knownLens {
		n += len(r.known[L])
	}
	if n == 0 {
		return
	}
	r.bloomBits = 10
	for 1<<r.bloomBits < 64*n && r.bloomBits < 22 {
		r.bloomBits++
	}
	r.knownBloom = make([]uint64, 1<<r.bloomBits/64)
	r.st.work += uint64(n + len(r.knownBloom))
	for _, L := range r.knownLens {
		for v := range r.known[L] {
			h := bloomHash(L, v, r.bloomBits)
			r.knownBloom[h/64] |= 1 << (h % 64)
		}
	}
}

// isKnown reports whether v is a known card number of L digits.
func (r *redactor) isKnown(L int, v uint64) bool {
	h := bloomHash(L, v, r.bloomBits)
	if r.knownBloom[h/64]&(1<<(h%64)) == 0 {
		return false
	}
	r.st.work++
	_, ok := r.known[L][v]
	return ok
}

// maskRuns applies the Luhn-window rule and the known-number rule to every
// run, then takes out the masked digits and masks until no Luhn-valid or known
// window is left.
func (r *redactor) maskRuns() {
	r.buildBloom()
	for k, a := range r.runs {
		b := int32(len(r.dig))
		if k+1 < len(r.runs) {
			b = r.runs[k+1]
		}
		if b-a < minKnown {
			continue
		}
		r.luhnWindows(r.dig[a:b])
		r.knownWindows(r.dig[a:b])
		r.settle(r.dig[a:b])
	}
}

// luhnWindows masks the middle of every Luhn-valid window of 13–19 digits of
// the run d. Per-parity prefix sums make each window's check O(1): in a window
// ending before index j, the digits at an index of j's parity are the doubled
// ones. pa sums doubled digits at even and plain digits at odd indices, pb the
// other way round, both mod 10: a window d[i:j] passes when pa[j] == pa[i]
// (j even) or pb[j] == pb[i] (j odd).
func (r *redactor) luhnWindows(d []uint8) {
	m := len(d)
	if m < minWindow {
		return
	}
	pa, pb := grow(r.pa, m+1), grow(r.pb, m+1)
	r.pa, r.pb = pa, pb
	luhnPrefix(d, pa, pb)
	work := uint64(m)
	// Masked so far: [from, to) and anything before. Each j's interval ends
	// at j-keepTail, one further than the last: only what it adds to
	// [from, to) is marked, so each digit is marked at most twice.
	from, to := 0, 0
	for j := minWindow; j <= m; j++ {
		p := pa
		if j&1 == 1 {
			p = pb
		}
		// The longest valid window ending at j masks the most: the union of
		// the middles of all valid windows ending at j is its middle.
		lo := max(0, j-maxWindow)
		starts := p[lo : j-minWindow+1]
		work += uint64(len(starts))
		for k, x := range starts {
			if x != p[j] {
				continue
			}
			s, e := lo+k+keepHead, j-keepTail
			if s > to {
				from, to = s, s
			}
			for ; to < e; to++ {
				d[to] |= maskBit
			}
			for ; from > s; from-- {
				d[from-1] |= maskBit
			}
			work += uint64(e - s)
			break
		}
	}
	r.st.work += work
}

// mod10 reduces a sum of two values under 10.
var mod10 = [32]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

// luhnPrefix sets pa[t+1] and pb[t+1] to the sums mod 10 of d[:t+1]: pa of
// doubled digits at even and plain digits at odd indices, pb the other way
// round.
func luhnPrefix(d, pa, pb []uint8) {
	var a, b uint8
	pa[0], pb[0] = 0, 0
	t := 0
	for ; t+1 < len(d); t += 2 {
		v, w := d[t]&0xF, d[t+1]&0xF
		a = mod10[(a+dbl[v])&31]
		b = mod10[(b+v)&31]
		pa[t+1], pb[t+1] = a, b
		a = mod10[(a+w)&31]
		b = mod10[(b+dbl[w])&31]
		pa[t+2], pb[t+2] = a, b
	}
	if t < len(d) {
		v := d[t] & 0xF
		pa[t+1], pb[t+1] = mod10[(a+dbl[v])&31], mod10[(b+v)&31]
	}
}

// grow returns s with length n, reallocated if it is too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// maskKnown masks a known card number of L digits found at d[i:i+L]: all but
// the first 6 and last 4 digits, or all of them under 15 digits.
func maskKnown(d []uint8, i, L int) {
	from, to := i, i+L
	if L >= MinPartialLength {
		from, to = i+keepHead, i+L-keepTail
	}
	for t := from; t < to; t++ {
		d[t] |= maskBit
	}
}

// knownWindows masks every occurrence of a known card number in the run d:
// for each known length (at most 8), the run's windows of that length are
// read as integers, each from the previous one in O(1) (a rolling hash that
// is exact: there is nothing to verify).
func (r *redactor) knownWindows(d []uint8) {
	for _, L := range r.knownLens {
		if len(d) < L {
			continue
		}
		var v uint64
		for t, x := range d {
			if t >= L {
				v -= uint64(d[t-L]&^maskBit) * pow10[L-1]
			}
			v = v*10 + uint64(x&^maskBit)
			if t >= L-1 && r.isKnown(L, v) {
				maskKnown(d, t+1-L, L)
				r.st.work += uint64(L)
			}
		}
		r.st.work += uint64(len(d))
	}
}

// settle makes the run d final: the digits still unmasked, with the masked
// ones taken out (as a reader treating '*' as a separator sees them), must
// hold no Luhn-valid or known window. They are pushed on a stack one by one;
// when a window ending at the top is Luhn-valid or known, its middle is masked
// and taken out, and the (at most 4) digits after it are pushed again to check
// the windows that now end at them. Each push checks at most 7 + 8 windows in
// O(1) with per-parity prefix sums (and prefix values for known numbers) kept
// per stack entry; each masking takes out at least 3 digits for good and
// pushes back at most 4, so there are O(len(d)) pushes.
//
// Until this pass masks something, K's windows ending before the first
// masked digit are d's, which phase 1 found neither valid nor known: those
// digits are pushed without checks. A run with no masked digit is final.
func (r *redactor) settle(d []uint8) {
	first, unmasked := -1, 0 // the first masked digit; unmasked digits
	for g, x := range d {
		if x&maskBit == 0 {
			unmasked++
		} else if first < 0 {
			first = g
		}
	}
	r.st.work += uint64(len(d))
	if first < 0 || unmasked < minKnown {
		return
	}
	known := len(r.knownLens) > 0
	work, changed := uint64(0), false
	stk, pend := grow(r.stk, unmasked)[:0], r.pend[:0]
	sa, sb := grow(r.pa, unmasked+1), grow(r.pb, unmasked+1)
	sa[0], sb[0] = 0, 0
	var sv []uint64
	if known {
		sv = grow(r.sv, unmasked+1)
		sv[0] = 0
		r.sv = sv
	}
	for g := range d {
		if d[g]&maskBit != 0 {
			continue
		}
		pend = append(pend, int32(g))
		for len(pend) > 0 {
			x := pend[len(pend)-1]
			pend = pend[:len(pend)-1]
			// Push x.
			n := len(stk)
			v := d[x]
			p, q := dbl[v], v
			if n%2 == 1 {
				p, q = q, p
			}
			if p += sa[n]; p >= 10 {
				p -= 10
			}
			if q += sb[n]; q >= 10 {
				q -= 10
			}
			sa[n+1], sb[n+1] = p, q
			if known {
				sv[n+1] = sv[n]*10 + uint64(v)
			}
			stk = append(stk, x)
			n++
			work++
			if (int(x) < first && !changed) || n < minKnown {
				// Until this pass masks something, K's windows ending before
				// the first masked digit are d's, checked by phase 1.
				continue
			}
			// Check the windows ending at x, longest first.
			cut, to := -1, 0 // stk[cut:to] is masked
			ps := sa
			if n&1 == 1 {
				ps = sb
			}
			if n >= minWindow {
				lo := max(0, n-maxWindow)
				starts := ps[lo : n-minWindow+1]
				work += uint64(len(starts))
				for k, y := range starts {
					if y == ps[n] {
						cut, to = lo+k+keepHead, n-keepTail
						break
					}
				}
			}
			if cut < 0 && known {
				for _, L := range r.knownLens {
					work++
					if L <= n && r.isKnown(L, sv[n]-sv[n-L]*pow10[L]) {
						cut, to = n-L, n
						if L >= MinPartialLength {
							cut, to = n-L+keepHead, n-keepTail
						}
						break
					}
				}
			}
			if cut < 0 {
				continue
			}
			changed = true
			for _, y := range stk[cut:to] {
				d[y] |= maskBit
			}
			work += uint64(to - cut)
			for k := n - 1; k >= to; k-- { // the digits after the masked ones, again
				pend = append(pend, stk[k])
			}
			stk = stk[:cut]
		}
	}
	r.stk, r.pend, r.pa, r.pb = stk, pend, sa, sb
	r.st.work += work
}

// ---- Output ----

// markTokens flags the tokens that have a masked digit.
func (r *redactor) markTokens() {
	for i := range r.toks {
		t := &r.toks[i]
		end := int32(len(r.dig))
		if i+1 < len(r.toks) {
			end = r.toks[i+1].dig
		}
		r.st.work += uint64(end-t.dig) + 1
		for _, d := range r.dig[t.dig:end] {
			if d&maskBit != 0 {
				t.flags |= fMasked
				break
			}
		}
	}
}

// maskText appends s, the decoded characters of a token whose first digit is
// r.dig[dig], with its masked digits written '*'.
func (r *redactor) maskText(dst, s []byte, dig int32) []byte {
	r.st.work += uint64(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c-'0' <= 9 {
				if r.dig[dig]&maskBit != 0 {
					c = '*'
				}
				dig++
			}
			dst = append(dst, c)
			i++
			continue
		}
		rn, size := utf8.DecodeRune(s[i:])
		if _, ok := digitValue(rn); ok {
			if r.dig[dig]&maskBit != 0 {
				dst = append(dst, '*')
				i += size
				dig++
				continue
			}
			dig++
		}
		dst = append(dst, s[i:i+size]...)
		i += size
	}
	return dst
}

// keyName returns a key's name as it will be written (masked), in a scratch
// buffer.
func (r *redactor) keyName(t *token) []byte {
	s := r.content(int(t.start), int(t.end), t.flags&fEsc != 0)
	if t.flags&fMasked == 0 {
		r.st.work += uint64(len(s))
		return s
	}
	r.scratch2 = r.maskText(r.scratch2[:0], s, t.dig)
	return r.scratch2
}

// suffixLetters are the letters of a rename suffix. Every word
// IsCardNumberField looks for holds an 'n' or a 'p': leaving them out means a
// suffix never turns a key into a card-number field.
const suffixLetters = "abcdefghijklmoqrstuvwxyz"

// suffix returns the k-th rename suffix: "#a", "#b", ..., "#z", "#aa", ...
func suffix(k int) string {
	var b [16]byte
	i := len(b)
	for k++; k > 0; k = (k - 1) / len(suffixLetters) {
		i--
		b[i] = suffixLetters[(k-1)%len(suffixLetters)]
	}
	i--
	b[i] = '#'
	return string(b[i:])
}

// renameKeys gives a suffix to every masked key that equals another key of
// its object. The names of an object are kept as 64-bit hashes: equal names
// have equal hashes, so a name whose hash is not in the set is unique (two
// names that collide would only cost an unnecessary suffix). Per object and
// base name, suffixes are tried in order from where the last search stopped:
// each failed try is on a distinct key of the object, so the work is linear.
func (r *redactor) renameKeys() {
	start := int32(0)
	for _, end := range r.objEnds {
		keys := r.objKeys[start:end]
		start = end
		masked := false
		for _, t := range keys {
			r.st.work++
			if r.toks[t].flags&fMasked != 0 {
				masked = true
				break
			}
		}
		if !masked {
			continue
		}
		r.initSeed()
		seed := r.seed
		names := make(map[uint64]struct{}, len(keys))
		for _, t := range keys {
			if r.toks[t].flags&fMasked == 0 {
				names[maphash.Bytes(seed, r.keyName(&r.toks[t]))] = struct{}{}
			}
		}
		var next map[uint64]int
		for _, t := range keys {
			if r.toks[t].flags&fMasked == 0 {
				continue
			}
			base := r.keyName(&r.toks[t])
			h := maphash.Bytes(seed, base)
			if _, dup := names[h]; dup {
				if next == nil {
					next = map[uint64]int{}
				}
				hb, k, n := h, next[h], len(base)
				for {
					base = append(base[:n], suffix(k)...)
					k++
					r.st.work += uint64(len(base))
					if h = maphash.Bytes(seed, base); !hasKey(names, h) {
						break
					}
				}
				next[hb] = k
				r.scratch2 = base
				// The key's digits are no longer needed (markTokens has run):
				// dig now says where its name is.
				r.toks[t].dig = int32(len(r.renamed))
				r.toks[t].flags |= fRenamed
				r.renamed = append(r.renamed, string(base))
				r.st.renamedKeys++
				r.st.renameBytes += len(base) - n
			}
			names[h] = struct{}{}
		}
	}
}

func hasKey(m map[uint64]struct{}, k uint64) bool {
	_, ok := m[k]
	return ok
}

func (r *redactor) emit() []byte {
	doc := r.doc
	out := make([]byte, 0, len(doc)+16)
	prev := kNone
	for ti := range r.toks {
		t := &r.toks[ti]
		raw := doc[t.start:t.end]
		r.st.work += uint64(len(raw))
		switch t.kind {
		case kObjEnd:
			out = append(out, '}')
			prev = t.kind
			continue
		case kArrEnd:
			out = append(out, ']')
			prev = t.kind
			continue
		case kKey:
			if prev != kObj {
				out = append(out, ',')
			}
		default:
			switch prev {
			case kKey:
				out = append(out, ':')
			case kNone, kObj, kArr:
			default:
				out = append(out, ',')
			}
		}
		prev = t.kind
		switch {
		case t.flags&fKeep != 0 || t.kind == kObj || t.kind == kArr || t.kind == kLit:
			out = append(out, raw...)
		case t.kind == kNum:
			if t.flags&fMasked == 0 {
				out = append(out, raw...)
				continue
			}
			r.st.maskedNumbers++
			out = append(out, '"')
			out = r.maskText(out, raw, t.dig) // no character of a number needs escaping
			out = append(out, '"')
		default: // kKey, kStr
			if t.flags&fRenamed != 0 {
				out = jsonx.AppendString(out, r.renamed[t.dig])
				continue
			}
			if t.flags&(fMasked|fEsc) == 0 {
				out = append(out, raw...) // what AppendString would write
				continue
			}
			s := r.content(int(t.start), int(t.end), t.flags&fEsc != 0)
			if t.flags&fMasked != 0 {
				r.scratch2 = r.maskText(r.scratch2[:0], s, t.dig)
				s = r.scratch2
			}
			out = jsonx.AppendString(out, string(s))
		}
	}
	return out
}
