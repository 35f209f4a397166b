package locallambda

import (
	"context"
	"sync"
)

// pool tracks warm instances per function and enforces concurrency: the
// number of invocations running at once for a function never exceeds its
// limit, and each running invocation owns one instance.
type pool struct {
	srv    *Server
	mu     sync.Mutex
	busy   map[string]int
	idle   map[string][]*instance
	live   map[*instance]struct{}
	closed bool
	// dying counts kills in flight, so close returns only once every process
	// is gone.
	dying sync.WaitGroup
}

func (p *pool) killAsync(in *instance) {
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.dying.Add(1)
	}
	p.mu.Unlock()
	if closed {
		// close already killed every live instance; wait for that here so
		// no Add races close's Wait.
		in.kill()
		return
	}
	go func() {
		defer p.dying.Done()
		in.kill()
	}()
}

func newPool(s *Server) *pool {
	return &pool{srv: s, busy: map[string]int{}, idle: map[string][]*instance{}, live: map[*instance]struct{}{}}
}

// poolRefusal says why reserve gave no slot.
type poolRefusal int

const (
	refusedNone poolRefusal = iota
	refusedThrottled
	refusedClosed
)

// reserve claims a concurrency slot for fn, or refuses.
func (p *pool) reserve(fn *function) poolRefusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return refusedClosed
	}
	if p.busy[fn.Name] >= fn.concurrencyLimit() {
		return refusedThrottled
	}
	p.busy[fn.Name]++
	return refusedNone
}

// take returns a warm instance for fn at version, starting one when none is
// idle. The caller holds a slot from reserve. cold reports a new instance.
// An idle instance is handed out only once its runtime asks for work, so an
// instance whose process is exiting never gets a new invocation.
func (p *pool) take(ctx context.Context, fn *function, version string) (in *instance, cold bool, err error) {
	for {
		in = p.takeIdle(fn, version)
		if in == nil {
			break
		}
		if in.awaitPoll(ctx) {
			return in, false, nil
		}
		p.mu.Lock()
		delete(p.live, in)
		p.mu.Unlock()
		p.killAsync(in)
	}
	in, err = p.srv.startInstance(ctx, fn, version)
	if err != nil {
		return nil, true, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		in.kill()
		return nil, true, context.Canceled
	}
	p.live[in] = struct{}{}
	p.mu.Unlock()
	return in, true, nil
}

// takeIdle removes and returns an idle instance of fn at version, if any,
// ending idle instances that are broken or run older code.
func (p *pool) takeIdle(fn *function, version string) (in *instance) {
	var stale []*instance
	p.mu.Lock()
	list := p.idle[fn.Name]
	keep := list[:0]
	for _, cand := range list {
		switch {
		case cand.fn.fingerprint != fn.fingerprint || cand.isBroken():
			stale = append(stale, cand)
		case in == nil && cand.version == version:
			in = cand
		default:
			keep = append(keep, cand)
		}
	}
	p.idle[fn.Name] = keep
	for _, s := range stale {
		delete(p.live, s)
	}
	p.mu.Unlock()
	for _, s := range stale {
		p.killAsync(s)
	}
	return in
}

// release gives back fn's slot and, when healthy and current, the instance.
func (p *pool) release(fn *function, in *instance) {
	var drop []*instance
	p.mu.Lock()
	p.busy[fn.Name]--
	current := p.srv.catalog.Load().byName[fn.Name]
	if in != nil {
		if p.closed || in.isBroken() || current == nil || current.fingerprint != in.fn.fingerprint {
			drop = append(drop, in)
			delete(p.live, in)
		} else {
			p.idle[fn.Name] = append(p.idle[fn.Name], in)
			// Keep no more idle instances than the function may ever use.
			limit := max(current.concurrencyLimit(), 1)
			for len(p.idle[fn.Name]) > limit {
				old := p.idle[fn.Name][0]
				p.idle[fn.Name] = p.idle[fn.Name][1:]
				delete(p.live, old)
				drop = append(drop, old)
			}
		}
	}
	p.mu.Unlock()
	for _, d := range drop {
		p.killAsync(d)
	}
}

// recycle ends idle instances of name that do not run next's code (all of
// them when next is nil: the function is gone).
func (p *pool) recycle(name string, next *function) {
	var drop []*instance
	p.mu.Lock()
	keep := p.idle[name][:0]
	for _, in := range p.idle[name] {
		if next == nil || in.fn.fingerprint != next.fingerprint {
			drop = append(drop, in)
			delete(p.live, in)
		} else {
			keep = append(keep, in)
		}
	}
	p.idle[name] = keep
	p.mu.Unlock()
	for _, d := range drop {
		p.killAsync(d)
	}
}

// close ends every instance, busy or idle, and waits for them.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	all := make([]*instance, 0, len(p.live))
	for in := range p.live {
		all = append(all, in)
	}
	p.live = map[*instance]struct{}{}
	p.idle = map[string][]*instance{}
	p.dying.Add(len(all))
	p.mu.Unlock()
	for _, in := range all {
		go func() {
			defer p.dying.Done()
			in.kill()
		}()
	}
	p.dying.Wait()
}
