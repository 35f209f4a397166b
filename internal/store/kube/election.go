package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ElectionOptions configures LeaderGate.
type ElectionOptions struct {
	// Namespace of the Lease. Default $POD_NAMESPACE, else "gloo-system".
	Namespace string
	// Name of the Lease. Default "lambdagate-discovery".
	Name string
	// Identity of this replica. Default $POD_NAME (else the host name)
	// plus a random suffix, so two processes on one host differ.
	Identity string
	// LeaseDuration is how long a lease is valid without renewal: the
	// longest discovery pauses when a leader dies without releasing it.
	// Default 15s.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader retries renewing before it
	// gives up leadership. Default 10s.
	RenewDeadline time.Duration
	// RetryPeriod is the interval between attempts. Default 2s.
	RetryPeriod time.Duration
}

func (o *ElectionOptions) defaults() {
	if o.Namespace == "" {
		o.Namespace = os.Getenv("POD_NAMESPACE")
	}
	if o.Namespace == "" {
		o.Namespace = "gloo-system"
	}
	if o.Name == "" {
		o.Name = "lambdagate-discovery"
	}
	if o.Identity == "" {
		host := os.Getenv("POD_NAME")
		if host == "" {
			host, _ = os.Hostname()
		}
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		o.Identity = host + "_" + hex.EncodeToString(b)
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 15 * time.Second
	}
	if o.RenewDeadline <= 0 {
		o.RenewDeadline = 10 * time.Second
	}
	if o.RetryPeriod <= 0 {
		o.RetryPeriod = 2 * time.Second
	}
}

// LeaderGate returns a runner that calls run only while this replica holds
// the Lease, so that one replica at a time discovers functions. When
// leadership is lost, run's context is cancelled and the replica stands
// for election again; when ctx ends, the lease is released so another
// replica takes over at once. It fits server.Config.DiscoveryGate.
func (s *Store) LeaderGate(o ElectionOptions) func(ctx context.Context, run func(context.Context)) {
	o.defaults()
	log := s.log.With("component", "leader-election", "lease", o.Namespace+"/"+o.Name, "identity", o.Identity)
	return func(ctx context.Context, run func(context.Context)) {
		lock := &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.Name},
			Client:     s.kc.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
		}
		for ctx.Err() == nil {
			// run is started by client-go in its own goroutine; the mutex
			// and wg make sure it has returned before the next election.
			var mu sync.Mutex
			var wg sync.WaitGroup
			over := false
			le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
				Lock:            lock,
				LeaseDuration:   o.LeaseDuration,
				RenewDeadline:   o.RenewDeadline,
				RetryPeriod:     o.RetryPeriod,
				ReleaseOnCancel: true,
				Name:            o.Name,
				Callbacks: leaderelection.LeaderCallbacks{
					OnStartedLeading: func(lctx context.Context) {
						mu.Lock()
						if over {
							mu.Unlock()
							return
						}
						wg.Add(1)
						mu.Unlock()
						defer wg.Done()
						log.Info("leading: this replica runs function discovery")
						run(lctx)
					},
					OnStoppedLeading: func() {
						log.Info("not leading: function discovery stopped on this replica")
					},
					OnNewLeader: func(id string) {
						if id != o.Identity {
							log.Info("another replica leads function discovery", "leader", id)
						}
					},
				},
			})
			if err != nil {
				log.Error("leader election misconfigured; function discovery does not run", "error", err.Error())
				return
			}
			le.Run(ctx)
			mu.Lock()
			over = true
			mu.Unlock()
			wg.Wait()
			if ctx.Err() == nil {
				// Lost the lease (API server unreachable): stand again after
				// a pause, so a flapping server does not spin this loop.
				select {
				case <-ctx.Done():
				case <-time.After(o.RetryPeriod):
				}
			}
		}
	}
}
