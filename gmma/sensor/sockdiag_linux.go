package sensor

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// SockDiag dumps TCP sockets over NETLINK_SOCK_DIAG with INET_DIAG_INFO, the
// interface ss(8) uses.
type SockDiag struct{}

var _ SocketDumper = SockDiag{}

const (
	inetDiagInfo     = 2  // INET_DIAG_INFO attribute
	inetDiagMsgLen   = 72 // struct inet_diag_msg
	inetDiagReqV2Len = 56 // struct inet_diag_req_v2
	tcpInfoAckedOff  = 120
	tcpInfoRecvOff   = 128
)

// DumpTCP implements SocketDumper.
func (SockDiag) DumpTCP() (map[uint64]SocketBytes, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	out := map[uint64]SocketBytes{}
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := dumpFamily(fd, fam, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func dumpFamily(fd int, family uint8, out map[uint64]SocketBytes) error {
	req := make([]byte, unix.SizeofNlMsghdr+inetDiagReqV2Len)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], 1)
	body := req[unix.SizeofNlMsghdr:]
	body[0] = family
	body[1] = unix.IPPROTO_TCP
	body[2] = 1 << (inetDiagInfo - 1)
	ne.PutUint32(body[4:], 0xffffffff) // every state
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sock_diag send: %w", err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("sock_diag recv: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("sock_diag parse: %w", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(ne.Uint32(m.Data)); e != 0 {
						return fmt.Errorf("sock_diag: %w", syscall.Errno(-e))
					}
				}
				return nil
			}
			parseDiagMsg(m.Data, out)
		}
	}
}

func parseDiagMsg(d []byte, out map[uint64]SocketBytes) {
	if len(d) < inetDiagMsgLen {
		return
	}
	ne := binary.NativeEndian
	ino := uint64(ne.Uint32(d[68:72]))
	attrs := d[inetDiagMsgLen:]
	for len(attrs) >= 4 {
		l := int(ne.Uint16(attrs[0:]))
		typ := ne.Uint16(attrs[2:])
		if l < 4 || l > len(attrs) {
			return
		}
		if typ == inetDiagInfo && l-4 >= tcpInfoRecvOff+8 {
			info := attrs[4:l]
			out[ino] = SocketBytes{
				Acked:    ne.Uint64(info[tcpInfoAckedOff:]),
				Received: ne.Uint64(info[tcpInfoRecvOff:]),
			}
		}
		attrs = attrs[(l+3)&^3:]
	}
}
