package pan

// Redaction, parsing: the strict tokenizer (strings, numbers, containers, duplicate names) and which members are kept as sent.

import (
	"bytes"
	"hash/maphash"
	"unicode/utf8"

	"webhooks/shared/jsonx"
)

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
