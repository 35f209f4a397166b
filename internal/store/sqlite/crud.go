package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"

	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
)

const rowColumns = `kind, namespace, name, uid, resource_version, generation, created, spec_json, status_json`

type scanner interface{ Scan(...any) error }

func scanRow(sc scanner) (*row, error) {
	var r row
	var spec string
	var status sql.NullString
	if err := sc.Scan(&r.kind, &r.namespace, &r.name, &r.uid, &r.rev, &r.generation, &r.created, &spec, &status); err != nil {
		return nil, err
	}
	r.spec = []byte(spec)
	if status.Valid {
		r.status = []byte(status.String)
	}
	return &r, nil
}

func (s *Store) corruptErr(r ref, err error) error {
	s.corrupt.Add(1)
	s.opts.logger.Error("corrupt resource record in store", "kind", r.kind, "namespace", r.namespace, "name", r.name, "path", s.path, "error", err)
	return r.err(store.Invalid, fmt.Sprintf("the stored record is corrupt (%v); delete the resource or update it without a resourceVersion to repair it", err))
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, kind resource.Kind, namespace, name string) (resource.Object, error) {
	rf := ref{kind, defaultNS(namespace), name}
	r, err := scanRow(s.rdb.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM resources WHERE kind = ? AND namespace = ? AND name = ?`, kind, rf.namespace, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, rf.err(store.NotFound, "")
	}
	if err != nil {
		return nil, s.dbErr(err, rf, "getting")
	}
	o, err := decode(r)
	if err != nil {
		return nil, s.corruptErr(rf, err)
	}
	return o, nil
}

// List implements store.Store. A row that cannot be decoded is left out,
// logged and counted in CorruptRows.
func (s *Store) List(ctx context.Context, kind resource.Kind, namespace string) ([]resource.Object, error) {
	rf := ref{kind: kind, namespace: namespace}
	q := `SELECT ` + rowColumns + ` FROM resources WHERE kind = ?`
	args := []any{kind}
	if namespace != "" {
		q += ` AND namespace = ?`
		args = append(args, namespace)
	}
	// BINARY collation orders as Go compares strings.
	rows, err := s.rdb.QueryContext(ctx, q+` ORDER BY namespace, name`, args...)
	if err != nil {
		return nil, s.dbErr(err, rf, "listing")
	}
	defer rows.Close()
	out := []resource.Object{}
	var corrupt []string
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, s.dbErr(err, rf, "listing")
		}
		o, err := decode(r)
		if err != nil {
			_ = s.corruptErr(r.ref, err)
			corrupt = append(corrupt, fmt.Sprintf("%s %s/%s", r.ref.kind, r.ref.namespace, r.ref.name))
			continue
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr(err, rf, "listing")
	}
	if len(corrupt) > 0 {
		return out, &store.CorruptError{Refs: corrupt}
	}
	return out, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, obj resource.Object) (resource.Object, error) {
	c, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	m := c.GetMetadata()
	rf := ref{c.GetKind(), m.Namespace, m.Name}
	spec, err := encodeSpec(resource.DeepCopy(c))
	if err != nil {
		return nil, rf.err(store.Invalid, fmt.Sprintf("encoding: %v", err))
	}
	r := &row{
		ref:        rf,
		uid:        uuid.NewString(),
		generation: 1,
		created:    time.Now().UTC().Truncate(time.Second).Format(time.RFC3339),
		spec:       spec,
	}
	var out resource.Object
	err = s.write(ctx, rf, "creating", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM resources WHERE kind = ? AND namespace = ? AND name = ?`, rf.kind, rf.namespace, rf.name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return rf.err(store.AlreadyExists, "")
		}
		if r.rev, err = nextRev(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO resources (`+rowColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
			rf.kind, rf.namespace, rf.name, r.uid, r.rev, r.generation, r.created, string(r.spec)); err != nil {
			return err
		}
		out, err = s.logChange(ctx, tx, store.Added, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Update implements store.Store. Labels, annotations and spec are replaced;
// only a spec change (anything outside metadata and status) increases the
// generation, as in Kubernetes. An update that changes nothing writes
// nothing and returns the stored object, so it produces no event.
func (s *Store) Update(ctx context.Context, obj resource.Object) (resource.Object, error) {
	c, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	m := c.GetMetadata()
	rf := ref{c.GetKind(), m.Namespace, m.Name}
	spec, err := encodeSpec(resource.DeepCopy(c))
	if err != nil {
		return nil, rf.err(store.Invalid, fmt.Sprintf("encoding: %v", err))
	}
	newSpec, err := specOnly(spec)
	if err != nil {
		return nil, rf.err(store.Invalid, fmt.Sprintf("encoding: %v", err))
	}
	var out resource.Object
	err = s.write(ctx, rf, "updating", func(tx *sql.Tx) error {
		r, err := s.lockedRow(ctx, tx, rf, m.ResourceVersion)
		if err != nil {
			return err
		}
		// Compare re-encoded forms, so stored JSON from an older encoding
		// still compares equal. A corrupt row compares unequal: the update
		// repairs it.
		changed, specChanged := true, true
		if stored, err := decode(r); err == nil {
			if old, err := encodeSpec(stored); err == nil {
				changed = string(old) != string(spec)
				if oldSpec, err := specOnly(old); err == nil {
					specChanged = oldSpec != newSpec
				}
			}
		}
		if !changed {
			out, err = decode(r)
			return err
		}
		if specChanged {
			r.generation++
		}
		r.spec = spec
		if r.rev, err = nextRev(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET resource_version = ?, generation = ?, spec_json = ? WHERE kind = ? AND namespace = ? AND name = ?`,
			r.rev, r.generation, string(r.spec), rf.kind, rf.namespace, rf.name); err != nil {
			return err
		}
		out, err = s.logChange(ctx, tx, store.Modified, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PatchLambdaFunctions implements store.Store. The stored record keeps
// every field it was written with, so a read-modify-write loses nothing.
func (s *Store) PatchLambdaFunctions(ctx context.Context, namespace, name, resourceVersion string, functions []gloo.LambdaFunctionSpec, annotations map[string]string) (resource.Object, error) {
	return store.PatchLambdaFunctionsRMW(ctx, s, namespace, name, resourceVersion, functions, annotations)
}

// UpdateStatus implements store.Store. It fails with Invalid for kinds
// without a status (Secret). A status equal to the stored one writes nothing.
func (s *Store) UpdateStatus(ctx context.Context, obj resource.Object) (resource.Object, error) {
	c, err := normalize(obj)
	if err != nil {
		return nil, err
	}
	m := c.GetMetadata()
	rf := ref{c.GetKind(), m.Namespace, m.Name}
	if !resource.HasStatus(rf.kind) {
		return nil, rf.err(store.Invalid, fmt.Sprintf("kind %s has no status", rf.kind))
	}
	var status []byte
	if st := c.GetStatus(); st != nil {
		if status, err = json.Marshal(st); err != nil {
			return nil, rf.err(store.Invalid, fmt.Sprintf("encoding status: %v", err))
		}
	}
	var out resource.Object
	err = s.write(ctx, rf, "updating status of", func(tx *sql.Tx) error {
		r, err := s.lockedRow(ctx, tx, rf, m.ResourceVersion)
		if err != nil {
			return err
		}
		if equalStatus(r.status, status) {
			out, err = decode(r)
			return err
		}
		r.status = status
		if r.rev, err = nextRev(ctx, tx); err != nil {
			return err
		}
		var col any
		if status != nil {
			col = string(status)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET resource_version = ?, status_json = ? WHERE kind = ? AND namespace = ? AND name = ?`,
			r.rev, col, rf.kind, rf.namespace, rf.name); err != nil {
			return err
		}
		out, err = s.logChange(ctx, tx, store.Modified, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// equalStatus compares a stored status with a new one after decoding both,
// so formatting differences do not count as a change.
func equalStatus(stored, status []byte) bool {
	if stored == nil || status == nil {
		return stored == nil && status == nil
	}
	var a, b core.Status
	if json.Unmarshal(stored, &a) != nil || json.Unmarshal(status, &b) != nil {
		return false
	}
	return a == b
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, kind resource.Kind, namespace, name string) error {
	rf := ref{kind, defaultNS(namespace), name}
	return s.write(ctx, rf, "deleting", func(tx *sql.Tx) error {
		r, err := s.lockedRow(ctx, tx, rf, "")
		if err != nil {
			return err
		}
		if r.rev, err = nextRev(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?`, rf.kind, rf.namespace, rf.name); err != nil {
			return err
		}
		_, err = s.logChange(ctx, tx, store.Deleted, r)
		return err
	})
}

// lockedRow reads a row inside a write transaction and applies the
// optimistic concurrency rule: a non-empty resourceVersion must be the
// stored one.
func (s *Store) lockedRow(ctx context.Context, tx *sql.Tx, rf ref, resourceVersion string) (*row, error) {
	r, err := scanRow(tx.QueryRowContext(ctx, `SELECT `+rowColumns+` FROM resources WHERE kind = ? AND namespace = ? AND name = ?`, rf.kind, rf.namespace, rf.name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, rf.err(store.NotFound, "")
	}
	if err != nil {
		return nil, err
	}
	if cur := strconv.FormatInt(r.rev, 10); resourceVersion != "" && resourceVersion != cur {
		return nil, rf.err(store.Conflict, fmt.Sprintf("resourceVersion %q is stale, current is %q; get the resource again and retry", resourceVersion, cur))
	}
	return r, nil
}

// nextRev takes the next global revision.
func nextRev(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, `UPDATE revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&rev)
	return rev, err
}

// logChange appends the change to the changelog, trims it, and returns the
// object as it is after the change (before it, for Deleted).
func (s *Store) logChange(ctx context.Context, tx *sql.Tx, typ store.EventType, r *row) (resource.Object, error) {
	var o resource.Object
	if typ == store.Deleted {
		o = decodeLoose(r)
	} else {
		var err error
		if o, err = decode(r); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO changelog (rev, type, kind, namespace, name, object_json) VALUES (?, ?, ?, ?, ?, ?)`,
		r.rev, string(typ), r.kind, r.namespace, r.name, string(b)); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM changelog WHERE rev <= ?`, r.rev-s.opts.changelogLimit); err != nil {
		return nil, err
	}
	return o, nil
}

// write runs fn in a write transaction (BEGIN IMMEDIATE: the file's write
// lock is taken before anything is read, so what fn checks cannot change
// before it commits).
func (s *Store) write(ctx context.Context, rf ref, doing string, fn func(*sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.dbErr(err, rf, doing)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return s.dbErr(err, rf, doing)
	}
	return s.dbErr(tx.Commit(), rf, doing)
}

func defaultNS(ns string) string {
	if ns == "" {
		return core.DefaultNamespace
	}
	return ns
}
