package lambda

import "syscall"

// alive reports whether a kept-alive connection can take a request: the
// server has neither closed it nor sent anything while it sat idle. One
// non-blocking MSG_PEEK read on the socket tells; net/http learns the same
// from a reader goroutine per connection, which costs more per request.
// Sending an Invoke on a connection the server already closed would leave
// it unknown whether the function ran, so this check matters.
func (pc *h1Conn) alive() bool {
	if pc.peer == nil {
		return true
	}
	if pc.peek == nil {
		pc.peek = func(fd uintptr) bool {
			// Only "nothing to read yet" means alive: a byte is an answer
			// nobody asked for, a zero-length read the server's close.
			_, _, err := syscall.Recvfrom(int(fd), pc.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			pc.peekAlive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
			return true
		}
	}
	if err := pc.peer.Read(pc.peek); err != nil {
		return false
	}
	return pc.peekAlive
}
