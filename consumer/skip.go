package consumer

// skip reads the value at s.i (white space skipped), checking its syntax
// only, at nesting level depth: a container deeper than maxNesting is an
// error. It does not recurse: a bit per open container (set for an object)
// is all it needs to know what may follow a value and which bracket closes
// it.
func (s *scanner) skip(depth int) bool {
	if s.peek() == 0 {
		return s.eofOr(errChar)
	}
	if c := s.b[s.i]; c != '{' && c != '[' {
		return s.scalar()
	}
	var few [2]uint64
	open := few[:0] // the open containers, a bit per level: 1 an object
	level := 0      // containers open
	for {
		// At a value.
		if s.peek() == 0 {
			return s.eofOr(errChar)
		}
		switch c := s.b[s.i]; c {
		case '{', '[':
			if depth+level > maxNesting {
				return s.fail(errTooDeep)
			}
			if level/64 >= len(open) {
				open = append(open, 0)
			}
			bit := uint64(1) << (level % 64)
			if c == '{' {
				open[level/64] |= bit
			} else {
				open[level/64] &^= bit
			}
			level++
			s.i++
			if c == '{' {
				if s.peek() == '}' {
					break // empty: closed below
				}
				if !s.name() {
					return false
				}
				continue
			}
			if s.peek() == ']' {
				break
			}
			continue
		default:
			if !s.scalar() {
				return false
			}
		}
		// After a value (or at the closing bracket of an empty container):
		// commas and closing brackets.
		for level > 0 {
			c := s.peek()
			obj := open[(level-1)/64]&(1<<((level-1)%64)) != 0
			switch {
			case c == ',':
				s.i++
				if obj && !s.name() {
					return false
				}
			case obj && c == '}' || !obj && c == ']':
				s.i++
				level--
				continue
			default:
				return s.eofOr(errChar)
			}
			break
		}
		if level == 0 {
			return true
		}
	}
}

// name reads an object's member name and the colon after it.
func (s *scanner) name() bool {
	if s.peek() != '"' {
		return s.eofOr(errChar)
	}
	if _, _, _, ok := s.str(); !ok {
		return false
	}
	return s.expect(':')
}
