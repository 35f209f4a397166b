// Package sqlite is the embedded resource store: one SQLite file (via the
// pure-Go modernc.org/sqlite) that the server, the CLI and discovery may open
// at the same time from different processes. See docs/design.md "## Store".
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lambdagate/lambdagate/internal/store"
)

// applicationID marks a SQLite file as a lambdagate store ("LGAT"), so a
// foreign SQLite database is refused instead of being written into.
const applicationID = 0x4C474154

// schemaVersion is stored in PRAGMA user_version; migrations step it up.
const schemaVersion = 1

// Defaults for the options.
const (
	DefaultBusyTimeout    = 5 * time.Second
	DefaultChangelogLimit = 10000
	DefaultPollInterval   = 100 * time.Millisecond
)

// Option configures Open.
type Option func(*options)

type options struct {
	busyTimeout    time.Duration
	changelogLimit int64
	pollInterval   time.Duration
	logger         *slog.Logger
}

// WithBusyTimeout sets how long a write waits for another process's write
// transaction before failing with Unavailable. Default 5s.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithChangelogLimit sets how many changelog rows are kept for watchers; a
// watcher further behind than this gets a Resync. Default 10000, minimum 1.
func WithChangelogLimit(n int) Option {
	return func(o *options) { o.changelogLimit = int64(max(n, 1)) }
}

// WithPollInterval sets how often a watcher polls the changelog. Default
// 100ms.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithLogger sets the logger for corrupt rows and watcher errors. Default
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Store is a store.Store backed by one SQLite file.
type Store struct {
	path string
	opts options
	// wdb has one connection whose transactions begin IMMEDIATE, so a write
	// takes the file's write lock before it reads what it checks; rdb serves
	// reads, which in WAL mode never wait for a writer.
	wdb, rdb *sql.DB

	corrupt atomic.Int64

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens the store at path, creating the file (mode 0600) and its schema
// when missing. The directory must exist. It fails with an error naming the
// path when the file is not a lambdagate store or is corrupt.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{
		busyTimeout:    DefaultBusyTimeout,
		changelogLimit: DefaultChangelogLimit,
		pollInterval:   DefaultPollInterval,
		logger:         slog.Default(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	created, err := createFile(abs)
	if err != nil {
		return nil, err
	}
	if !created {
		if err := awaitContent(abs); err != nil {
			return nil, err
		}
	}
	s := &Store{path: abs, opts: o, done: make(chan struct{})}
	if s.wdb, err = sql.Open("sqlite", s.dsn(true)); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", abs, err)
	}
	s.wdb.SetMaxOpenConns(1)
	if s.rdb, err = sql.Open("sqlite", s.dsn(false)); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("opening store %s: %w", abs, err)
	}
	s.rdb.SetMaxOpenConns(8)
	if err := s.init(); err != nil {
		s.wdb.Close()
		s.rdb.Close()
		return nil, err
	}
	// SQLite gives -wal and -shm the database file's mode, but set it
	// explicitly so no umask or older file can leave them readable by others.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(abs+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.Close()
			return nil, fmt.Errorf("setting mode 0600 on %s%s: %w", abs, suffix, err)
		}
	}
	return s, nil
}

// createFile creates the database file with mode 0600 unless it exists, and
// says whether it did. An existing file is never opened here: closing a
// descriptor of a file drops every POSIX lock this process holds on it,
// including those of another Store on the same file.
func createFile(path string) (created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("opening store %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil // another process created it just now
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in our message already
		}
		return false, fmt.Errorf("creating store %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("creating store %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("setting mode 0600 on store %s: %w", path, err)
	}
	return true, nil
}

// emptyFileWait is how long Open waits for an existing empty file to get
// its first page: the Open of another process that has just created the
// file writes it within milliseconds.
const emptyFileWait = 2 * time.Second

// awaitContent refuses an existing database file that stays empty. SQLite
// would take a zero-length file for a new database, and the gateway would
// start with no configuration at all, answering 404 everywhere; a store
// that has ever been opened always holds at least its header page (WAL
// mode writes it to the main file), so an empty one was truncated or its
// creator stopped before writing the schema.
func awaitContent(path string) error {
	deadline := time.Now().Add(emptyFileWait)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("opening store %s: %w", path, err)
		}
		if fi.Size() > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("opening store %s: the file is empty (0 bytes), so it holds no configuration: it was truncated, or a first start stopped before writing it; restore it from a backup, or delete it to start with an empty store", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Store) dsn(write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(s.opts.busyTimeout.Milliseconds(), 10)+")")
	// WAL lets readers (watchers, gets) run while a writer commits, and
	// NORMAL syncs only at checkpoints: a commit survives a crash of any
	// process, though not a power loss. See docs/design.md.
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if write {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: s.path, RawQuery: q.Encode()}
	return u.String()
}

// init checks the file is a lambdagate store and creates or migrates the
// schema. It runs in a write transaction so two processes opening a new file
// at once do not both create it.
func (s *Store) init() error {
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.openErr(err)
	}
	defer tx.Rollback()
	var appID, version int64
	if err := tx.QueryRow("PRAGMA application_id").Scan(&appID); err != nil {
		return s.openErr(err)
	}
	if err := tx.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return s.openErr(err)
	}
	switch {
	case appID == 0 && version == 0:
		var tables int
		if err := tx.QueryRow("SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
			return s.openErr(err)
		}
		if tables != 0 {
			return fmt.Errorf("opening store %s: the file is a SQLite database but not a lambdagate store; choose another data directory", s.path)
		}
		for _, stmt := range schema {
			if _, err := tx.Exec(stmt); err != nil {
				return fmt.Errorf("creating schema in %s: %w", s.path, err)
			}
		}
	case appID != applicationID:
		return fmt.Errorf("opening store %s: the file is a SQLite database but not a lambdagate store (application_id %#x); choose another data directory", s.path, appID)
	case version > schemaVersion:
		return fmt.Errorf("opening store %s: schema version %d is newer than this lambdagate understands (%d); upgrade lambdagate", s.path, version, schemaVersion)
	}
	// Later schema versions add their migrations here, keyed on version.
	var check string
	if err := tx.QueryRow("PRAGMA quick_check").Scan(&check); err != nil {
		return s.openErr(err)
	}
	if check != "ok" {
		return fmt.Errorf("opening store %s: the database is corrupt (%s); restore it from a backup or move it away to start empty", s.path, check)
	}
	if err := tx.Commit(); err != nil {
		return s.openErr(err)
	}
	return nil
}

var schema = []string{
	`PRAGMA application_id = ` + strconv.Itoa(applicationID),
	`PRAGMA user_version = ` + strconv.Itoa(schemaVersion),
	// spec_json is the object without status and without the store-owned
	// metadata (uid, resourceVersion, generation, creationTimestamp), which
	// live in their own columns.
	`CREATE TABLE resources (
		kind             TEXT    NOT NULL,
		namespace        TEXT    NOT NULL,
		name             TEXT    NOT NULL,
		uid              TEXT    NOT NULL,
		resource_version INTEGER NOT NULL,
		generation       INTEGER NOT NULL,
		created          TEXT    NOT NULL,
		spec_json        TEXT    NOT NULL,
		status_json      TEXT,
		PRIMARY KEY (kind, namespace, name)
	) WITHOUT ROWID`,
	// One row: the revision of the last write, the source of resourceVersions.
	`CREATE TABLE revision (
		id  INTEGER PRIMARY KEY CHECK (id = 1),
		rev INTEGER NOT NULL
	)`,
	`INSERT INTO revision (id, rev) VALUES (1, 0)`,
	// Every write adds one row with the next revision, so revs are contiguous
	// until trimmed from below.
	`CREATE TABLE changelog (
		rev         INTEGER PRIMARY KEY,
		type        TEXT NOT NULL,
		kind        TEXT NOT NULL,
		namespace   TEXT NOT NULL,
		name        TEXT NOT NULL,
		object_json TEXT NOT NULL
	)`,
}

// openErr turns an error met while opening into one naming the path.
func (s *Store) openErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("opening store %s: the file is not a SQLite database, so not a lambdagate store (a wrong path, or a damaged file?): %w", s.path, err)
		case sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("opening store %s: the database is corrupt; restore it from a backup or move it away to start empty: %w", s.path, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("opening store %s: the file stayed locked by another process for more than %s: %w", s.path, s.opts.busyTimeout, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY:
			return fmt.Errorf("opening store %s: cannot open the file for writing: %w", s.path, err)
		}
	}
	return fmt.Errorf("opening store %s: %w", s.path, err)
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// CorruptRows returns how many times a read skipped a row whose JSON could
// not be decoded, since Open. List leaves such rows out (and logs their kind,
// namespace and name) so one bad record does not hide the others; Get on one
// returns an Invalid error. Deleting the resource, or updating it without a
// resourceVersion, repairs it.
func (s *Store) CorruptRows() int64 { return s.corrupt.Load() }

// Close stops the watchers (closing their channels) and releases the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(s.rdb.Close(), s.wdb.Close())
}

// dbErr maps a database error to a store error about one resource.
func (s *Store) dbErr(err error, ref ref, doing string) error {
	if err == nil {
		return nil
	}
	var stErr *store.Error
	if errors.As(err, &stErr) {
		return err
	}
	if errors.Is(err, sql.ErrConnDone) || isClosedErr(err) {
		return ref.err(store.Unavailable, "the store is closed")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return ref.err(store.Unavailable, fmt.Sprintf("%s: the database %s stayed locked by another writer for more than %s; retry, and if it persists look for a stuck lambdagate process", doing, s.path, s.opts.busyTimeout))
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return ref.err(store.Unavailable, fmt.Sprintf("%s: the database %s is corrupt: %v", doing, s.path, err))
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
			return ref.err(store.Unavailable, fmt.Sprintf("%s: writing %s failed: %v", doing, s.path, err))
		}
	}
	return fmt.Errorf("%s %s in %s: %w", doing, ref, s.path, err)
}

func isClosedErr(err error) bool {
	// database/sql reports use after Close with this unexported error.
	return err != nil && err.Error() == "sql: database is closed"
}
