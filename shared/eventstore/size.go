package eventstore

import (
	"strings"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ItemBytes is an item's size as DynamoDB counts it, against MaxItemBytes
// and in write units (a unit per started KB): the UTF-8 bytes of every
// attribute name plus the size of its value (ValueBytes). Memory refuses by
// it, Item.Size reports it, and the cost run's counter bills by it.
func ItemBytes(av map[string]ddb.AttributeValue) int {
	total := 0
	for k, v := range av {
		total += len(k) + ValueBytes(v)
	}
	return total
}

func itemBytes(av map[string]ddb.AttributeValue) int { return ItemBytes(av) }

// ValueBytes is the size of one attribute value: a string or binary its
// length, a number one byte per two significant digits plus one, a boolean
// or null one byte, a set the sum of its elements, a map or list 3 bytes
// plus each element and one byte per element.
func ValueBytes(v ddb.AttributeValue) int {
	switch t := v.(type) {
	case *ddb.AttributeValueMemberS:
		return len(t.Value)
	case *ddb.AttributeValueMemberN:
		return numberBytes(t.Value)
	case *ddb.AttributeValueMemberB:
		return len(t.Value)
	case *ddb.AttributeValueMemberBOOL, *ddb.AttributeValueMemberNULL:
		return 1
	case *ddb.AttributeValueMemberSS:
		return sum(t.Value, func(s string) int { return len(s) })
	case *ddb.AttributeValueMemberNS:
		return sum(t.Value, numberBytes)
	case *ddb.AttributeValueMemberBS:
		return sum(t.Value, func(b []byte) int { return len(b) })
	case *ddb.AttributeValueMemberM:
		n := 3
		for k, e := range t.Value {
			n += len(k) + ValueBytes(e) + 1
		}
		return n
	case *ddb.AttributeValueMemberL:
		n := 3
		for _, e := range t.Value {
			n += ValueBytes(e) + 1
		}
		return n
	}
	return 0
}

// numberBytes: DynamoDB keeps a number's significant digits (leading and
// trailing zeros trimmed, the exponent apart), two to a byte, plus one.
func numberBytes(s string) int {
	mant, _, _ := strings.Cut(strings.ToLower(strings.TrimLeft(s, "-+")), "e")
	digits := strings.Trim(strings.Replace(mant, ".", "", 1), "0")
	return (len(digits)+1)/2 + 1
}

// sum is the sum of size over the elements of a set.
func sum[T any](set []T, size func(T) int) int {
	n := 0
	for _, e := range set {
		n += size(e)
	}
	return n
}
