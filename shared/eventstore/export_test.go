package eventstore

import ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// PutRaw writes an item as it is: the tests' way to leave an item of the
// previous layout.
func (m *Memory) PutRaw(av map[string]ddb.AttributeValue) {
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	m.t.items[keyOf(av)] = copyItem(av)
}

// StateID is stateID, for the tests of the layout.
var StateID, EntityPrefix = stateID, entityPrefix
