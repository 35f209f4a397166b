package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Socket activation (the protocol of systemd's sd_listen_fds): a supervisor
// creates the listening sockets and passes them to every gateway it starts,
// as file descriptors 3, 4, ... with LISTEN_FDS=<count>. Old and new
// gateways of a rolling restart then accept from ONE socket, so when the
// old one closes its copy, connections queued in the kernel stay queued
// for the new one. With --reuse-port each gateway has its own socket and
// closing one resets the connections queued on it.

// listenFDsStart is the first inherited descriptor (SD_LISTEN_FDS_START).
const listenFDsStart = 3

// Inherited are listeners passed in by a supervisor; each one set replaces
// binding the matching address (Config.HTTPAddr, HTTPSAddr, AdminAddr).
type Inherited struct {
	HTTP, HTTPS, Admin net.Listener
}

// used reports whether a listener was inherited.
func (i Inherited) used() bool { return i.HTTP != nil || i.HTTPS != nil || i.Admin != nil }

// InheritedListeners takes the listening sockets passed by socket
// activation, or returns none when LISTEN_FDS is unset. LISTEN_PID must be
// this process's id or unset: unset lets a supervisor that cannot know the
// pid before exec (Go's exec.Cmd, most scripts) pass sockets; set to another
// pid means the variables were meant for a parent, and they are ignored.
// LISTEN_FDNAMES (colon-separated) may name descriptors "http", "https" or
// "admin"; when none has such a name, the descriptors are taken in that
// order (the first is HTTP). The variables are removed from the
// environment so that child processes (local Lambda functions) do not
// take them for theirs.
func InheritedListeners() (Inherited, error) {
	fds := os.Getenv("LISTEN_FDS")
	pid := os.Getenv("LISTEN_PID")
	names := os.Getenv("LISTEN_FDNAMES")
	for _, k := range []string{"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} {
		_ = os.Unsetenv(k)
	}
	roles, err := activationRoles(fds, pid, names, os.Getpid())
	if err != nil || roles == nil {
		return Inherited{}, err
	}
	var in Inherited
	for i, role := range roles {
		fd := listenFDsStart + i
		if role == "" {
			// Not ours to use; closed so children do not inherit it.
			_ = os.NewFile(uintptr(fd), "unused LISTEN_FDS").Close()
			continue
		}
		f := os.NewFile(uintptr(fd), "LISTEN_FDS "+role)
		// FileListener dups the descriptor (close-on-exec); closing the
		// original keeps the socket out of child processes. Either close
		// is close(2) on one descriptor, never shutdown(2), so the socket
		// stays open for the other processes that hold it.
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			in.close()
			return Inherited{}, fmt.Errorf("using inherited descriptor %d (LISTEN_FDS) as the %s listener: %w", fd, role, err)
		}
		switch role {
		case "http":
			in.HTTP = ln
		case "https":
			in.HTTPS = ln
		case "admin":
			in.Admin = ln
		}
	}
	return in, nil
}

func (i Inherited) close() {
	for _, l := range []net.Listener{i.HTTP, i.HTTPS, i.Admin} {
		if l != nil {
			l.Close()
		}
	}
}

// activationRoles returns the role ("http", "https", "admin" or "" for
// unused) of each inherited descriptor, nil when there are none for pid.
func activationRoles(fds, listenPID, names string, pid int) ([]string, error) {
	if fds == "" {
		return nil, nil
	}
	if listenPID != "" {
		p, err := strconv.Atoi(listenPID)
		if err != nil {
			return nil, fmt.Errorf("LISTEN_PID %q: must be a process id or unset", listenPID)
		}
		if p != pid {
			return nil, nil
		}
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 1 || n > 64 {
		return nil, fmt.Errorf("LISTEN_FDS %q: must be the number of inherited sockets, 1 to 64", fds)
	}
	roles := make([]string, n)
	named := false
	if names != "" {
		list := strings.Split(names, ":")
		if len(list) != n {
			return nil, fmt.Errorf("LISTEN_FDNAMES %q: names %d descriptors, LISTEN_FDS=%d", names, len(list), n)
		}
		seen := map[string]bool{}
		for i, name := range list {
			switch name {
			case "http", "https", "admin":
				if seen[name] {
					return nil, fmt.Errorf("LISTEN_FDNAMES %q: %q twice", names, name)
				}
				seen[name] = true
				roles[i] = name
				named = true
			}
		}
	}
	if !named {
		for i, role := range []string{"http", "https", "admin"} {
			if i < n {
				roles[i] = role
			}
		}
	}
	return roles, nil
}
