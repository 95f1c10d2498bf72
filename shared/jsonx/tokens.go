package jsonx

import (
	"iter"

	"webhooks/shared/workcount"
)

// ParseValue is Parse for any one JSON value (not only an object), with the
// same checks: valid UTF-8, no duplicate key, nesting up to MaxDepth,
// numbers a float64 can hold, nothing after the value.
func ParseValue(body []byte) (*Doc, error) {
	d := docs.Get().(*Doc)
	if err := d.parse(body, true); err != nil {
		d.Release()
		return nil, err
	}
	return d, nil
}

// Doc is the document v is a value of (nil for an absent value).
func (v Value) Doc() *Doc { return v.d }

// Token is one step of a walk over a parsed value (Value.Tokens): a scalar,
// an object's key, or the opening or the closing of a container. Its text is
// Doc.Body()[Start:End]: a string or key with its quotes and escapes, a
// number as sent, a container's opening or closing character.
type Token struct {
	Kind       Kind // the value's kind (String for a key)
	Key        bool // an object member's key: its value follows
	Close      bool // the end of a container (Kind Object or Array)
	Escaped    bool // a string or key that holds escapes
	Start, End int
}

// Tokens yields v's tokens in document order, without reading the body
// again: the tokenizer of package pan's redaction is this one. An absent
// value yields nothing.
func (v Value) Tokens() iter.Seq[Token] { return v.Walk }

// Walk calls yield with v's tokens in document order (Tokens), until yield
// returns false. Unlike ranging over Tokens, calling Walk with a function
// literal allocates nothing.
func (v Value) Walk(yield func(Token) bool) {
	if v.d == nil {
		return
	}
	steps := uint64(0) // tokens yielded (package workcount)
	v.d.walk(v.i, false, &steps, yield)
	workcount.Add(steps)
}

// walk yields the value at token i (a key when key is set) and everything
// inside it; it reports false once yield has.
func (d *Doc) walk(i int32, key bool, steps *uint64, yield func(Token) bool) bool {
	t := &d.toks[i]
	*steps++
	if t.kind != Object && t.kind != Array {
		return yield(Token{Kind: t.kind, Key: key, Escaped: t.esc, Start: int(t.start), End: int(t.end)})
	}
	if !yield(Token{Kind: t.kind, Key: key, Start: int(t.start), End: int(t.start) + 1}) {
		return false
	}
	if t.kind == Object {
		for k := i + 1; k < t.next; k = d.toks[k+1].next {
			if !d.walk(k, true, steps, yield) || !d.walk(k+1, false, steps, yield) {
				return false
			}
		}
	} else {
		for e := i + 1; e < t.next; e = d.toks[e].next {
			if !d.walk(e, false, steps, yield) {
				return false
			}
		}
	}
	return yield(Token{Kind: t.kind, Close: true, Start: int(t.end) - 1, End: int(t.end)})
}

// Builder records the tokens of JSON text while its writer writes the text,
// so that what was written is a Doc without being parsed: the writer calls
// Open, Scalar and Close in document order with each token's place in its
// text, then Doc with the text. The writer vouches for the text: one valid
// JSON value, no key repeated in an object, the tokens exactly those
// recorded (package pan's tests compare the result with Parse's).
type Builder struct {
	toks []token
	open []int32 // the containers not yet closed
}

// Reset empties b for another text, keeping its storage.
func (b *Builder) Reset() { b.toks, b.open = b.toks[:0], b.open[:0] }

// Scalar records a string, number, true, false or null, or an object's key
// (a String), at text[start:end]; esc says whether a string holds escapes.
func (b *Builder) Scalar(kind Kind, start, end int, esc bool) {
	b.toks = append(b.toks, token{start: int32(start), end: int32(end), next: int32(len(b.toks) + 1), kind: kind, esc: esc})
}

// Open records the opening of an object or array at text[start].
func (b *Builder) Open(kind Kind, start int) {
	b.open = append(b.open, int32(len(b.toks)))
	b.toks = append(b.toks, token{start: int32(start), kind: kind})
}

// Close records the closing of the innermost open container, whose text
// ends before text[end].
func (b *Builder) Close(end int) {
	t := b.open[len(b.open)-1]
	b.open = b.open[:len(b.open)-1]
	b.toks[t].end, b.toks[t].next = int32(end), int32(len(b.toks))
}

// Doc returns the document of text, whose tokens b recorded; b is empty
// after, and may be reused. It returns nil when no value was recorded or a
// container is still open.
func (b *Builder) Doc(text []byte) *Doc {
	if len(b.toks) == 0 || len(b.open) != 0 {
		return nil
	}
	d := docs.Get().(*Doc)
	d.body, d.toks, b.toks = text, b.toks, d.toks[:0]
	b.Reset()
	return d
}
