package gish

import (
	"errors"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Results of looking a path up beneath an area.
const (
	beneathNo      = iota // not lexically in the area, or resolving leaves it
	beneathYes            // exists and resolves inside the area
	beneathMissing        // does not exist; its parent resolves inside the area
)

// beneath resolves an absolute path inside one of areas with openat2
// RESOLVE_BENEATH on the area's directory: the kernel follows symlinks and
// `..` and refuses (EXDEV) anything that would leave the area. It is the
// fast path of the area checks; beneathNo sends the caller to the full
// resolution, which may still find the path in another area.
func (p *Policy) beneath(path string, areas []string) int {
	for _, a := range areas {
		if !strings.HasPrefix(path, a+"/") {
			continue
		}
		dfd, err := p.areaFD(a)
		if err != nil {
			continue
		}
		rel := path[len(a)+1:]
		switch err := openBeneath(dfd, rel); {
		case err == nil:
			return beneathYes
		case errors.Is(err, unix.ENOENT):
			if d := filepath.Dir(rel); d == "." || openBeneath(dfd, d) == nil {
				return beneathMissing
			}
		}
	}
	return beneathNo
}

func openBeneath(dfd int, rel string) error {
	fd, err := unix.Openat2(dfd, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS})
	if err == nil {
		unix.Close(fd)
	}
	return err
}

// areaFD is the O_PATH descriptor of an area directory, opened once.
func (p *Policy) areaFD(a string) (int, error) {
	if fd, ok := p.areaFDs.Load(a); ok {
		return fd.(int), nil
	}
	fd, err := unix.Open(a, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if old, loaded := p.areaFDs.LoadOrStore(a, fd); loaded {
		unix.Close(fd)
		return old.(int), nil
	}
	return fd, nil
}
