package sac

import (
	"bytes"
	"fmt"
	"io"
	"net"

	"golang.org/x/sys/unix"
)

// maxFDs bounds the descriptors one request may carry (a stage request
// carries exactly one; more are closed and the request refused).
const maxFDs = 4

// lineReader reads request lines from a Unix stream connection and keeps
// the descriptors (SCM_RIGHTS) that arrived with them: the ones received
// since the previous line belong to the next one.
type lineReader struct {
	c   *net.UnixConn
	buf []byte
	fds []int
	p   []byte
	oob []byte
}

func newLineReader(c *net.UnixConn) *lineReader {
	return &lineReader{c: c, p: make([]byte, 4096), oob: make([]byte, unix.CmsgSpace(4*maxFDs))}
}

// next returns the next line (with its '\n') and the descriptors that came
// with it; the caller owns (and must close) them.
func (r *lineReader) next() ([]byte, []int, error) {
	for {
		if i := bytes.IndexByte(r.buf, '\n'); i >= 0 {
			line := append([]byte(nil), r.buf[:i+1]...)
			r.buf = r.buf[i+1:]
			fds := r.fds
			r.fds = nil
			return line, fds, nil
		}
		if len(r.buf) > maxLine {
			return nil, nil, fmt.Errorf("%w: request line longer than %d bytes", ErrBadRequest, maxLine)
		}
		n, oobn, flags, _, err := r.c.ReadMsgUnix(r.p, r.oob)
		if oobn > 0 {
			r.fds = append(r.fds, parseRights(r.oob[:oobn])...)
		}
		if flags&unix.MSG_CTRUNC != 0 {
			return nil, nil, fmt.Errorf("%w: more than %d descriptors in one request", ErrBadRequest, maxFDs)
		}
		r.buf = append(r.buf, r.p[:n]...)
		if err != nil {
			return nil, nil, err
		}
		if n == 0 {
			return nil, nil, io.EOF
		}
	}
}

// close closes descriptors no request claimed.
func (r *lineReader) close() { closeFDs(r.fds); r.fds = nil }

func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}
