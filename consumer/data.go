package consumer

import (
	"bytes"
	"reflect"

	"webhooks/consumer/fieldname"
)

// The data of a message, read in one pass: each member's value is decoded
// into its struct field (the struct's rules: required, types, nonblank,
// masked) and, at the same time, held to the rules every member obeys at any
// depth (the value of a member named like a card number is masked; for OSL
// Pay, no member is named like a secret).
//
// Errors come out as they did when these were two passes, the struct's rules
// then the members' rules: a struct rule's error, of the first field in the
// struct's order (its rank), wins over any member rule's; among member rules'
// errors, the first in the data wins. So the decoder records the errors as it
// meets them and reads on; only a syntax error stops it.

// typedCtx is the struct being decoded: for its errors' names and ranks.
type typedCtx struct {
	parent *typedCtx
	name   string // its member name ("data" for the data)
	rank   uint64 // the rank of its own errors (a repeated member)
	level  int    // the rank level of its fields
}

// path is the struct's name in errors: "data.newReply".
func (c *typedCtx) path() string {
	if c.parent == nil {
		return c.name
	}
	return c.parent.path() + "." + c.name
}

// fieldRank is the rank of the errors of the struct's k-th field: a field's
// errors rank in the struct's order, a nested struct's within its field's.
// (Eight levels of structs are told apart; deeper ones rank together.)
func (c *typedCtx) fieldRank(k int) uint64 {
	if c.level >= 8 {
		return c.rank
	}
	return c.rank | uint64(k+1)<<(8*(7-c.level))
}

// typed reports whether a struct rule's error of rank r is to be recorded:
// none of a lower rank (or the same) is. Only then is its text built and
// recorded (setTyped).
func (d *decoder) typed(r uint64) bool { return d.typedErr == nil || r < d.typedRank }

func (d *decoder) setTyped(r uint64, err error) { d.typedErr, d.typedRank = err, r }

// data decodes the value at d.i, the data of an event of type et.
func (d *decoder) data(et *eventType) (reflect.Value, bool) {
	dst := reflect.New(et.data)
	d.drops = et.drops
	d.dataAt = d.i
	if d.peek() != '{' {
		if d.typed(0) {
			d.setTyped(0, invalid("data must be a JSON object: %v", errNotObj))
		}
		return dst, d.skip(1)
	}
	ctx := typedCtx{name: "data"}
	return dst, d.object(et.info, dst.Elem(), modeRedacted, 1, &ctx, true)
}

// object decodes the object at d.i (d.b[d.i] == '{') into dst, a struct
// described by si, at nesting level depth; top is data's own object.
func (d *decoder) object(si *structInfo, dst reflect.Value, mode, depth int, ctx *typedCtx, top bool) bool {
	d.i++
	var seen uint64 // the fields present
	base := d.nkeys
	scope := 0 // its scope in d.names, once it has one
	if d.peek() == '}' {
		d.i++
	} else {
		for {
			if d.peek() != '"' {
				return d.eofOr(errChar)
			}
			at := d.i
			start, end, flags, ok := d.str()
			if !ok {
				return false
			}
			name := d.text(start, end, flags)
			k := si.lookup(name)
			var f *fieldInfo
			repeated := false
			if k >= 0 {
				f = &si.fields[k]
				repeated = seen&(1<<k) != 0
				seen |= 1 << k
			} else {
				repeated = d.repeated(name, start, end, flags, base, &scope)
			}
			if repeated {
				if d.typed(ctx.rank) {
					d.setTyped(ctx.rank, invalid("%s must be a JSON object: member %q appears twice", ctx.path(), printable(string(name))))
				}
			}
			var card, secret bool
			if f != nil {
				card, secret = f.cardName, f.secretName
			} else {
				card, secret = d.nameRules(name, mode)
			}
			if secret && d.drops {
				d.walkFail(walkSecret, at)
			}
			child := mode
			if mode == modeRedacted {
				switch {
				case top && f != nil && f.asis:
					child = modeAsSent
				case card:
					child = modeMasked
				}
			}
			if !d.expect(':') {
				return false
			}
			if f != nil && !repeated {
				ok = d.field(f, dst.Field(f.index), child, depth+1, ctx, k)
			} else {
				ok = d.walk(child, depth+1)
			}
			if !ok || !d.more('}') {
				break
			}
		}
		if d.err != nil {
			return false
		}
	}
	d.nkeys = base
	addWork(len(si.fields))
	for k := range si.fields {
		if f := &si.fields[k]; seen&(1<<k) == 0 && f.required && f.kind != kindAbsent {
			r := ctx.fieldRank(k)
			if d.typed(r) {
				d.setTyped(r, invalid("%s.%s is required", ctx.path(), f.name))
			}
		}
	}
	return true
}

// nameRules applies the member-name rules to an undocumented name: whether
// it is a card number's (when it matters: in a redacted value) and a
// secret's (for a provider that drops them).
func (d *decoder) nameRules(name []byte, mode int) (card, secret bool) {
	if mode == modeRedacted {
		addWork(len(name))
		card = fieldname.IsCardNumberBytes(name)
	}
	if d.drops {
		addWork(len(name))
		secret = fieldname.IsSecretBytes(name)
	}
	return card, secret
}

// field decodes the value at d.i into out, the struct field f, at nesting
// level depth with mode mode.
func (d *decoder) field(f *fieldInfo, out reflect.Value, mode, depth int, ctx *typedCtx, k int) bool {
	r := ctx.fieldRank(k)
	c := d.peek()
	fail := func(format string) bool {
		if d.typed(r) {
			d.setTyped(r, invalid(format, ctx.path()+"."+f.name))
		}
		return d.skip(depth)
	}
	switch {
	case f.kind == kindAbsent:
		return fail("%s is never sent")
	case f.kind == kindAny:
		start := d.i
		if !d.walk(mode, depth) {
			return false
		}
		addWork(d.i - start) // copied
		out.SetBytes(bytes.Clone(d.b[start:d.i]))
		return true
	case c == 'n':
		if !d.literal() {
			return false
		}
		if f.required {
			if d.typed(r) {
				d.setTyped(r, invalid("%s.%s is required", ctx.path(), f.name))
			}
		}
		return true
	}
	switch f.kind {
	case kindString:
		if c != '"' {
			return fail("%s must be a string")
		}
		start, end, flags, ok := d.str()
		if !ok {
			return false
		}
		s := d.text(start, end, flags)
		switch {
		case f.nonblank && blank(s):
			if d.typed(r) {
				d.setTyped(r, invalid("%s.%s must not be blank", ctx.path(), f.name))
			}
		case f.card && !maskedCardNumber(s):
			if d.typed(r) {
				d.setTyped(r, invalid("%s.%s must be a masked card number", ctx.path(), f.name))
			}
		}
		if mode == modeMasked && !maskedCardNumber(s) {
			d.walkFail(walkMaskedString, start-1)
		}
		out.SetString(string(s))
	case kindNumber:
		switch {
		case c == '-' || c-'0' < 10:
			start := d.i
			if !d.number() {
				return false
			}
			if mode == modeMasked {
				d.walkFail(walkMaskedNumber, start)
			}
			out.SetString(string(d.b[start:d.i]))
		case c == '"' && f.masked:
			// A number whose digits held a card number, masked by the
			// receiver: the masked literal, as a string.
			start, end, flags, ok := d.str()
			if !ok {
				return false
			}
			s := d.text(start, end, flags)
			if !maskedNumberLiteral(s) {
				if d.typed(r) {
					d.setTyped(r, invalid("%s.%s must be a number, or a masked one", ctx.path(), f.name))
				}
			}
			if mode == modeMasked && !maskedCardNumber(s) {
				d.walkFail(walkMaskedString, start-1)
			}
			out.SetString(string(s))
		default:
			return fail("%s must be a number")
		}
	case kindBool:
		if c != 't' && c != 'f' {
			return fail("%s must be true or false")
		}
		if !d.literal() {
			return false
		}
		b := c == 't'
		out.Set(reflect.ValueOf(&b))
	case kindObject:
		if c != '{' {
			return fail("%s must be a JSON object: not an object")
		}
		if !d.container(mode, depth) {
			return false
		}
		obj := reflect.New(f.object.t)
		sub := typedCtx{parent: ctx, name: f.name, rank: r, level: ctx.level + 1}
		if !d.object(f.object, obj.Elem(), mode, depth, &sub, false) {
			return false
		}
		out.Set(obj)
	case kindStrings:
		if c != '[' {
			return fail("%s must be an array of strings")
		}
		return d.strings(f, out, mode, depth, r, ctx)
	}
	return true
}

// strings decodes the array at d.i into out, a []string or []*string field.
func (d *decoder) strings(f *fieldInfo, out reflect.Value, mode, depth int, r uint64, ctx *typedCtx) bool {
	if !d.container(mode, depth) {
		return false
	}
	d.i++
	var list []string
	var ptrs []*string
	bad := false
	if d.peek() == ']' {
		d.i++
	} else {
		for {
			switch c := d.peek(); {
			case c == '"':
				start, end, flags, ok := d.str()
				if !ok {
					return false
				}
				s := d.text(start, end, flags)
				if mode == modeMasked && !maskedCardNumber(s) {
					d.walkFail(walkMaskedString, start-1)
				}
				if f.nullable {
					v := string(s)
					ptrs = append(ptrs, &v)
				} else {
					list = append(list, string(s))
				}
			case c == 'n' && f.nullable:
				if !d.literal() {
					return false
				}
				ptrs = append(ptrs, nil)
			default:
				bad = true
				if !d.walk(mode, depth+1) {
					return false
				}
			}
			if !d.more(']') {
				break
			}
		}
		if d.err != nil {
			return false
		}
	}
	if bad {
		if d.typed(r) {
			d.setTyped(r, invalid("%s.%s must be an array of strings", ctx.path(), f.name))
		}
		return true
	}
	// An array is never nil once present, even empty (as encoding/json).
	if f.nullable {
		if ptrs == nil {
			ptrs = []*string{}
		}
		setSlice(out, ptrs)
	} else {
		if list == nil {
			list = []string{}
		}
		setSlice(out, list)
	}
	return true
}

// setSlice sets out, a slice of strings or of pointers to strings (of any
// string type), to the elements of list.
func setSlice[E string | *string](out reflect.Value, list []E) {
	if p, ok := out.Addr().Interface().(*[]E); ok {
		*p = list
		return
	}
	v := reflect.MakeSlice(out.Type(), len(list), len(list))
	for i, e := range list {
		if s, ok := any(e).(*string); ok && s != nil {
			p := reflect.New(out.Type().Elem().Elem())
			p.Elem().SetString(*s)
			v.Index(i).Set(p)
		} else if s, ok := any(e).(string); ok {
			v.Index(i).SetString(s)
		}
	}
	out.Set(v)
}
