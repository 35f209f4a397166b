package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// newConns tracks connections accepted whose first request is not read
// yet (http.StateNew). http.Server.Shutdown drops such a connection without
// an answer when its request arrives after Shutdown began (net/http checks
// shuttingDown right after reading a request), and a client that just
// connected cannot retry: during a rolling restart that is a lost request.
// So the gateway first stops accepting, lets those connections read their
// request, and only then calls Shutdown.
type newConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (n *newConns) connState(c net.Conn, st http.ConnState) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if st == http.StateNew {
		if n.conns == nil {
			n.conns = map[net.Conn]struct{}{}
		}
		n.conns[c] = struct{}{}
		return
	}
	delete(n.conns, c)
}

func (n *newConns) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// newConnWait bounds stopAccepting's wait. Clients send their request as
// soon as they connect, so the wait is short; the bound is for connections
// that never send one and for prior-knowledge HTTP/2 connections, which
// net/http moves out of StateNew without calling ConnState.
const newConnWait = time.Second

// stopAccepting closes the listeners (this process's descriptors only:
// with socket activation another gateway keeps accepting from the same
// socket) and waits until every accepted connection has read its first
// request, at most newConnWait or until ctx is done.
func (s *Server) stopAccepting(ctx context.Context, l *Listeners, nc *newConns) {
	l.Close()
	deadline := time.Now().Add(newConnWait)
	// Zero twice in a row: a connection leaves StateNew just before
	// net/http checks for shutdown, so give it a moment to pass that check.
	zero := 0
	for zero < 2 && ctx.Err() == nil && time.Now().Before(deadline) {
		if nc.count() == 0 {
			zero++
		} else {
			zero = 0
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := nc.count(); n > 0 {
		s.log.Debug("shutting down with connections that sent no request yet", "connections", n)
	}
}
