package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

// watchBatch bounds the changelog rows read per poll.
const watchBatch = 256

// Watch implements store.Store. Each watcher polls the changelog, which every
// process writes to in the same transaction as the change, so changes from
// other processes are seen too, in revision (commit) order.
func (s *Store) Watch(ctx context.Context) (<-chan store.Event, error) {
	var rev int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("starting a watch: %w", ctx.Err())
		}
		return nil, s.dbErr(err, ref{}, "starting a watch")
	}
	return s.watchFrom(ctx, rev)
}

// watchFrom starts a watcher that reports changes after revision from.
func (s *Store) watchFrom(ctx context.Context, from int64) (<-chan store.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, (ref{}).err(store.Unavailable, "the store is closed")
	}
	ch := make(chan store.Event, 64)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ch)
		s.watch(ctx, from, ch)
	}()
	return ch, nil
}

func (s *Store) watch(ctx context.Context, last int64, ch chan<- store.Event) {
	t := time.NewTicker(s.opts.pollInterval)
	defer t.Stop()
	failing := false
	for {
		evs, next, more, err := s.poll(ctx, last)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// Keep polling: a long write by another process or a transient
			// I/O error should not end the watch. Log once per outage.
			if !failing {
				s.opts.logger.Warn("store watch: reading the changelog failed; retrying", "path", s.path, "error", err)
			}
			failing = true
		} else {
			if failing {
				s.opts.logger.Info("store watch: reading the changelog works again", "path", s.path)
			}
			failing = false
			last = next
		}
		for _, ev := range evs {
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
		if more {
			continue
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// poll returns the events after revision last, the revision they bring the
// watcher to, and whether more may be waiting. When revisions after last
// were trimmed away it returns a single Resync.
func (s *Store) poll(ctx context.Context, last int64) (evs []store.Event, next int64, more bool, err error) {
	// One read transaction: the revision, the trim point and the rows come
	// from the same snapshot.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, last, false, err
	}
	defer tx.Rollback()
	var cur int64
	if err := tx.QueryRowContext(ctx, `SELECT rev FROM revision WHERE id = 1`).Scan(&cur); err != nil {
		return nil, last, false, err
	}
	if cur == last {
		return nil, last, false, nil
	}
	var minRev sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(rev) FROM changelog`).Scan(&minRev); err != nil {
		return nil, last, false, err
	}
	// cur < last means the file was replaced by an older one.
	if cur < last || !minRev.Valid || minRev.Int64 > last+1 {
		return []store.Event{{Type: store.Resync}}, cur, false, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT rev, type, kind, namespace, name, object_json FROM changelog WHERE rev > ? ORDER BY rev LIMIT ?`, last, watchBatch)
	if err != nil {
		return nil, last, false, err
	}
	defer rows.Close()
	next = last
	n := 0
	for rows.Next() {
		var (
			rev                 int64
			typ, kind, ns, name string
			objJSON             string
		)
		if err := rows.Scan(&rev, &typ, &kind, &ns, &name, &objJSON); err != nil {
			return nil, last, false, err
		}
		n++
		next = rev
		o, err := resource.New(resource.Kind(kind))
		if err == nil {
			err = json.Unmarshal([]byte(objJSON), o)
		}
		if err != nil {
			// Skipping keeps the watch going; the caller still learns of the
			// resource through List, which reports it as corrupt.
			s.corrupt.Add(1)
			s.opts.logger.Error("corrupt changelog record in store; event skipped", "rev", rev, "kind", kind, "namespace", ns, "name", name, "path", s.path, "error", err)
			continue
		}
		evs = append(evs, store.Event{Type: store.EventType(typ), Object: o})
	}
	if err := rows.Err(); err != nil {
		return nil, last, false, err
	}
	return evs, next, n == watchBatch, nil
}
