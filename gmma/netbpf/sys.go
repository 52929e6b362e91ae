package netbpf

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The bpf(2) attribute layouts this package uses (linux/bpf.h, union
// bpf_attr); the kernel zero-fills what is beyond the size passed.

type mapCreateAttr struct {
	mapType, keySize, valueSize, maxEntries, mapFlags uint32
}

type mapElemAttr struct {
	mapFd uint32
	_     uint32
	key   uint64
	value uint64
	flags uint64
}

type progLoadAttr struct {
	progType, insnCnt  uint32
	insns, license     uint64
	logLevel, logSize  uint32
	logBuf             uint64
	kernVersion, flags uint32
	name               [16]byte
	ifindex            uint32
	expectedAttachType uint32
}

type linkCreateAttr struct {
	progFd, targetFd, attachType, flags uint32
}

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func createArray(valueSize, entries uint32) (int, error) {
	a := mapCreateAttr{mapType: unix.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: valueSize, maxEntries: entries}
	fd, err := bpf(unix.BPF_MAP_CREATE, unsafe.Pointer(&a), unsafe.Sizeof(a))
	if err != nil {
		return -1, fmt.Errorf("bpf map create: %w", err)
	}
	return fd, nil
}

func lookup(mapFd int, key uint32, value []byte) error {
	a := mapElemAttr{mapFd: uint32(mapFd), key: uint64(uintptr(unsafe.Pointer(&key))),
		value: uint64(uintptr(unsafe.Pointer(&value[0])))}
	_, err := bpf(unix.BPF_MAP_LOOKUP_ELEM, unsafe.Pointer(&a), unsafe.Sizeof(a))
	runtime.KeepAlive(&key)
	runtime.KeepAlive(value)
	if err != nil {
		return fmt.Errorf("bpf map lookup: %w", err)
	}
	return nil
}

// loadProg loads a CGROUP_SKB program; on a verifier refusal it loads again
// with the log on, so the error says why.
func loadProg(name string, prog []byte, attachType uint32) (int, error) {
	license := []byte("GPL\x00")
	a := progLoadAttr{progType: unix.BPF_PROG_TYPE_CGROUP_SKB, insnCnt: uint32(len(prog) / insnSize),
		insns: uint64(uintptr(unsafe.Pointer(&prog[0]))), license: uint64(uintptr(unsafe.Pointer(&license[0]))),
		expectedAttachType: attachType}
	copy(a.name[:15], name)
	fd, err := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&a), unsafe.Sizeof(a))
	if err == nil {
		runtime.KeepAlive(prog)
		runtime.KeepAlive(license)
		return fd, nil
	}
	log := make([]byte, 16<<10)
	a.logLevel, a.logSize, a.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
	if fd, err2 := bpf(unix.BPF_PROG_LOAD, unsafe.Pointer(&a), unsafe.Sizeof(a)); err2 == nil {
		return fd, nil // refused once, loaded with the log on: keep it
	}
	runtime.KeepAlive(prog)
	runtime.KeepAlive(license)
	runtime.KeepAlive(log)
	return -1, fmt.Errorf("bpf prog load %s: %w: %s", name, err, cString(log))
}

func linkCgroup(progFd, cgroupFd int, attachType uint32) (int, error) {
	a := linkCreateAttr{progFd: uint32(progFd), targetFd: uint32(cgroupFd), attachType: attachType}
	fd, err := bpf(unix.BPF_LINK_CREATE, unsafe.Pointer(&a), unsafe.Sizeof(a))
	if err != nil {
		return -1, fmt.Errorf("bpf link create: %w", err)
	}
	return fd, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
