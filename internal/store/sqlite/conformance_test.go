package sqlite

import (
	"testing"

	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/store/storetest"
)

// TestConformance runs the store contract's shared suite on a fresh file.
// The peer handle is a second Open of the same file, as another process
// would open it.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openT(t, dbPath(t)) },
		storetest.Peer(func(t *testing.T, st store.Store) store.Store { return openT(t, st.(*Store).path) }),
		storetest.EventsWithin(eventTimeout),
		storetest.Skip("CreateInvalidName", "the SQLite store stores any non-empty name; "+
			"only resource.Validate (apply, the CLI) checks the DNS-1123 rule the kube-apiserver enforces"))
}
