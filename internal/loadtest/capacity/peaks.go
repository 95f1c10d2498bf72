package capacity

import (
	"webhooks/internal/devkit"
	"webhooks/internal/devkit/kits"
)

// Peak is one provider's assumed peak (its kit's, internal/devkit/<p>dev).
type Peak struct {
	Provider string
	devkit.Peak
}

// Peaks are the assumed peaks of a flash sale, one per kit, in report order.
var Peaks = peaksOf(kits.All)

func peaksOf(all []devkit.Kit) []Peak {
	out := make([]Peak, len(all))
	for i, k := range all {
		out[i] = Peak{Provider: k.Name, Peak: k.Peak}
	}
	return out
}
