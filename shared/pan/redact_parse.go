package pan

// Redaction, reading: the document's tokens (package jsonx's, read once by
// its parser) walked in order, which members are kept as sent or dropped, and
// the digit stream they feed.

import (
	"bytes"

	"webhooks/shared/jsonx"
)

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

// keptCtx is the context of the value t under a kept name (ctx is cKeep or
// cKeepIf): cKeep for a scalar under a Keep name, and for a string under a
// KeepIf name whose decoded text r.keepIf accepts; cNone (redacted like any
// other value) for anything else: an object or array, or under a KeepIf name
// a number, a literal or a string the function refuses. A text holding '*'
// is never kept (the function is not asked). The function gets a string of
// its own unless Drop has already made one copy of the document: at most one
// small allocation per KeepIf name in a valid document (its top-level keys
// are unique).
func (r *redactor) keptCtx(ctx uint8, t jsonx.Token) uint8 {
	switch {
	case t.Kind == jsonx.Object || t.Kind == jsonx.Array:
		return cNone
	case ctx == cKeep:
		return cKeep
	case t.Kind != jsonx.String:
		return cNone
	}
	return r.keptIf(t.Start, t.End, t.Escaped)
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

// frame is an open container of the walk.
type frame struct {
	obj  bool
	ctx  uint8
	keys int // its first key token in r.keyToks
}

// read walks the value's tokens in document order: it records the tokens of
// the output (dropped members have none), each one's context, and feeds the
// digit stream.
func (r *redactor) read() {
	r.frames, r.ctx, r.afterKey, r.brk = r.frames[:0], cNone, false, true
	r.val.Walk(func(t jsonx.Token) bool {
		r.token(t)
		return true
	})
	r.frames = r.frames[:0]
}

// token reads the walk's next token.
func (r *redactor) token(t jsonx.Token) {
	switch {
	case t.Close:
		r.closeContainer(t)
		return
	case t.Key:
		f := &r.frames[len(r.frames)-1]
		name := r.content(t.Start, t.End, t.Escaped)
		r.ctx = r.memberCtx(f.ctx, name, t.Start, t.End, t.Escaped, len(r.frames) == 1)
		if r.ctx != cDrop {
			r.keyToks = append(r.keyToks, int32(len(r.toks)))
			k := r.addTok(kKey, t.Start, t.End, f.ctx)
			if t.Escaped {
				k.flags |= fEsc
			}
			if f.ctx != cKeep {
				r.feedText(name, nil)
			}
		}
		r.afterKey = true
		return
	}
	// A value: its context is its member's, else its container's.
	ctx := r.ctx
	if !r.afterKey {
		ctx = cNone
		if len(r.frames) > 0 {
			ctx = r.frames[len(r.frames)-1].ctx // an array's element
		}
	}
	r.afterKey = false
	if ctx >= cKeep {
		ctx = r.keptCtx(ctx, t)
	}
	switch t.Kind {
	case jsonx.Object, jsonx.Array:
		kind := kArr
		if t.Kind == jsonx.Object {
			kind = kObj
		}
		if ctx != cDrop {
			r.addTok(kind, t.Start, t.End, ctx)
		}
		r.frames = append(r.frames, frame{obj: t.Kind == jsonx.Object, ctx: ctx, keys: len(r.keyToks)})
	case jsonx.String:
		if ctx == cDrop {
			return
		}
		s := r.addTok(kStr, t.Start, t.End, ctx)
		if t.Escaped {
			s.flags |= fEsc
		}
		if ctx != cKeep {
			var l *leaf
			if ctx == cCard {
				l = &leaf{first: len(r.dig)}
			}
			r.feedText(r.content(t.Start, t.End, t.Escaped), l)
			if l != nil {
				r.endLeaf(l)
			}
		}
	case jsonx.Number:
		if ctx == cDrop {
			return
		}
		r.addTok(kNum, t.Start, t.End, ctx)
		if ctx != cKeep {
			var l *leaf
			if ctx == cCard {
				l = &leaf{first: len(r.dig)}
			}
			r.feedNumber(r.doc[t.Start:t.End], l)
			if l != nil {
				r.endLeaf(l)
			}
		}
	default: // true, false, null
		if ctx != cDrop {
			r.addTok(kLit, t.Start, t.End, ctx)
			r.brk = true // true, false and null are letters
		}
	}
}

// closeContainer pops the innermost container, closed by t. For an object it
// records its keys for renaming.
func (r *redactor) closeContainer(t jsonx.Token) {
	f := r.frames[len(r.frames)-1]
	r.frames = r.frames[:len(r.frames)-1]
	if f.obj {
		if f.ctx != cDrop && f.ctx != cKeep && len(r.keyToks) > f.keys {
			r.st.work += uint64(len(r.keyToks) - f.keys)
			r.objKeys = append(r.objKeys, r.keyToks[f.keys:]...)
			r.objEnds = append(r.objEnds, int32(len(r.objKeys)))
		}
		r.keyToks = r.keyToks[:f.keys]
	}
	if f.ctx != cDrop {
		kind := kArrEnd
		if f.obj {
			kind = kObjEnd
		}
		r.addTok(kind, t.Start, t.End, f.ctx)
	}
}
