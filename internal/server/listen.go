package server

import (
	"context"
	"net"
	"time"
)

// listen binds a TCP listener, with SO_REUSEPORT when Config.ReusePort is
// set.
func (s *Server) listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	if s.cfg.ReusePort {
		lc.Control = setReusePort
	}
	return lc.Listen(context.Background(), "tcp", addr)
}

// awaitFirstSnapshot waits, with --reuse-port or inherited listeners only,
// until the first snapshot is built (at most 10s) before the data
// listeners serve: the kernel hands this process its share of the port's
// new connections as soon as it binds (or, with a shared socket, as soon
// as it accepts), and they should wait in the accept queue rather than get
// 503 "not loaded yet" while the old gateway could have served them.
func (s *Server) awaitFirstSnapshot(ctx context.Context) {
	if !s.cfg.ReusePort && !s.cfg.Inherited.used() {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.holder.Load() == nil && ctx.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}
