// Package store defines the one interface through which the server, the CLI
// and discovery read and write resources. The embedded SQLite store
// (store/sqlite) and the Kubernetes store (store/kube) implement it.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/resource"
)

// Store is a transactional resource store with optimistic concurrency.
//
// Objects passed in are never modified; objects returned are the caller's to
// keep (copies). All methods are safe for concurrent use, and several
// processes may use one store at the same time.
type Store interface {
	// Get returns one resource, or an *Error with code NotFound.
	Get(ctx context.Context, kind resource.Kind, namespace, name string) (resource.Object, error)
	// List returns the resources of a kind in a namespace ("" means every
	// namespace), sorted by namespace then name. When some records cannot
	// be read, it returns the readable ones together with a *CorruptError
	// naming the others.
	List(ctx context.Context, kind resource.Kind, namespace string) ([]resource.Object, error)
	// Create stores a new resource. It sets uid, creationTimestamp,
	// generation 1 and a new resourceVersion, and fails with AlreadyExists
	// when the name is taken. A status sent with it is dropped.
	Create(ctx context.Context, obj resource.Object) (resource.Object, error)
	// Update replaces a resource's metadata (labels, annotations) and spec.
	// When obj carries a resourceVersion it must equal the stored one, else
	// the update fails with Conflict and nothing is written; an empty
	// resourceVersion updates unconditionally. The generation increases only
	// when the spec changed. The stored status is kept.
	Update(ctx context.Context, obj resource.Object) (resource.Object, error)
	// UpdateStatus replaces only the status, with the same resourceVersion
	// rule as Update. The generation does not change.
	UpdateStatus(ctx context.Context, obj resource.Object) (resource.Object, error)
	// PatchLambdaFunctions replaces an Upstream's spec.aws.lambdaFunctions
	// and sets the annotations given (an empty value removes one), leaving
	// every other field as stored: discovery's only write. resourceVersion
	// follows Update's rule. It fails with Invalid when the upstream has no
	// spec.aws.
	PatchLambdaFunctions(ctx context.Context, namespace, name, resourceVersion string, functions []gloo.LambdaFunctionSpec, annotations map[string]string) (resource.Object, error)
	// Delete removes a resource, or fails with NotFound.
	Delete(ctx context.Context, kind resource.Kind, namespace, name string) error
	// Watch reports every change made after it is called, by this process
	// or another, within a second, in commit order. The channel closes when
	// ctx is done or the store is closed. A watcher that falls too far
	// behind receives an event of type Resync and should list again.
	Watch(ctx context.Context) (<-chan Event, error)
	// Close releases the store.
	Close() error
}

// EventType says what happened to a resource.
type EventType string

// Event types.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	// Resync means events were lost; list everything again.
	Resync EventType = "RESYNC"
)

// Event is one change. Object is the resource after the change (before it,
// for Deleted) and nil for Resync.
type Event struct {
	Type   EventType
	Object resource.Object
}

// Code classifies store errors.
type Code string

// Error codes.
const (
	NotFound      Code = "NotFound"
	AlreadyExists Code = "AlreadyExists"
	Conflict      Code = "Conflict"
	Invalid       Code = "Invalid"
	Unavailable   Code = "Unavailable"
)

// Error is a store error naming the resource it is about.
type Error struct {
	Code      Code
	Kind      resource.Kind
	Namespace string
	Name      string
	// Detail adds context, e.g. the versions of a conflict.
	Detail string
}

func (e *Error) Error() string {
	var what string
	switch e.Code {
	case NotFound:
		what = "not found"
	case AlreadyExists:
		what = "already exists"
	case Conflict:
		what = "was changed by someone else (conflict)"
	case Invalid:
		what = "is invalid"
	case Unavailable:
		what = "store unavailable"
	default:
		what = string(e.Code)
	}
	s := fmt.Sprintf("%s %s/%s %s", e.Kind, e.Namespace, e.Name, what)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is makes errors.Is(err, &Error{Code: X}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Kind == "" && t.Name == ""
}

// CorruptError names stored records that cannot be decoded. List returns
// it alongside the records it could read.
type CorruptError struct {
	// Refs are "Kind namespace/name".
	Refs []string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt records in the store: %s; delete them or apply them again to repair them", strings.Join(e.Refs, ", "))
}

// Sentinels for errors.Is.
var (
	ErrNotFound      = &Error{Code: NotFound}
	ErrAlreadyExists = &Error{Code: AlreadyExists}
	ErrConflict      = &Error{Code: Conflict}
)

// IsNotFound reports whether err is a NotFound store error.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a Conflict store error.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsAlreadyExists reports whether err is an AlreadyExists store error.
func IsAlreadyExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }

// PatchLambdaFunctionsRMW implements PatchLambdaFunctions for a store whose
// Update keeps every field of the object it is given (the decoded object
// carries the fields lambdagate does not model): get, change, update with
// the version read, and with an empty resourceVersion retry conflicts.
func PatchLambdaFunctionsRMW(ctx context.Context, s Store, namespace, name, resourceVersion string, functions []gloo.LambdaFunctionSpec, annotations map[string]string) (resource.Object, error) {
	const attempts = 5
	for i := 0; ; i++ {
		o, err := s.Get(ctx, resource.KindUpstream, namespace, name)
		if err != nil {
			return nil, err
		}
		u := o.(*resource.Upstream)
		m := &u.Metadata
		if resourceVersion != "" && m.ResourceVersion != resourceVersion {
			return nil, &Error{Code: Conflict, Kind: resource.KindUpstream, Namespace: m.Namespace, Name: name,
				Detail: fmt.Sprintf("resourceVersion %q is stale, current is %q; get the resource again and retry", resourceVersion, m.ResourceVersion)}
		}
		if u.Spec.AWS == nil {
			return nil, &Error{Code: Invalid, Kind: resource.KindUpstream, Namespace: m.Namespace, Name: name, Detail: "spec.aws is not set"}
		}
		u.Spec.AWS.LambdaFunctions = functions
		for k, v := range annotations {
			if v == "" {
				delete(m.Annotations, k)
				continue
			}
			if m.Annotations == nil {
				m.Annotations = map[string]string{}
			}
			m.Annotations[k] = v
		}
		out, err := s.Update(ctx, u)
		if err == nil || resourceVersion != "" || !IsConflict(err) || i == attempts-1 {
			return out, err
		}
	}
}
