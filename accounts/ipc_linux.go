package accounts

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// sysvTables are the kernel's SysV IPC tables: file under /proc/sysvipc,
// id column, and the remover.
var sysvTables = []struct {
	file, idCol string
	rm          func(id int) error
}{
	{"shm", "shmid", func(id int) error { _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); return err }},
	{"sem", "semid", func(id int) error { return rawCtl(unix.SYS_SEMCTL, id, 0, unix.IPC_RMID) }},
	{"msg", "msqid", func(id int) error { return rawCtl(unix.SYS_MSGCTL, id, unix.IPC_RMID, 0) }},
}

func rawCtl(trap uintptr, id int, a, b int) error {
	if _, _, e := unix.Syscall6(trap, uintptr(id), uintptr(a), uintptr(b), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// ipcObject is one SysV IPC object of an account.
type ipcObject struct {
	kind string
	id   int
}

func (o ipcObject) String() string { return fmt.Sprintf("%s:%d", o.kind, o.id) }

// ipcOf lists the SysV IPC objects whose owner or creator is uid.
func ipcOf(uid uint32) []ipcObject {
	var out []ipcObject
	for _, t := range sysvTables {
		for _, id := range sysvIDs(t.file, t.idCol, uid) {
			out = append(out, ipcObject{t.file, id})
		}
	}
	return out
}

func sysvIDs(file, idCol string, uid uint32) []int {
	f, err := os.Open(filepath.Join(procRoot, "sysvipc", file))
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return nil
	}
	col := map[string]int{}
	for i, h := range strings.Fields(sc.Text()) {
		col[h] = i
	}
	want := strconv.FormatUint(uint64(uid), 10)
	var ids []int
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(fs) {
				return fs[i]
			}
			return ""
		}
		if get("uid") == want || get("cuid") == want {
			if id, err := strconv.Atoi(get(idCol)); err == nil {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// removeIPC removes every SysV shared memory segment, semaphore set and
// message queue owned or created by uid.
func removeIPC(uid uint32) error {
	var errs []error
	for _, t := range sysvTables {
		for _, id := range sysvIDs(t.file, t.idCol, uid) {
			if err := t.rm(id); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
				errs = append(errs, fmt.Errorf("remove %s %d: %w", t.file, id, err))
			}
		}
	}
	return errors.Join(errs...)
}

var (
	mqueueOnce sync.Once
	mqueueMu   sync.Mutex
	mqueueAt   string // the mqueue mount once found
)

// mqueueDir is where POSIX message queues are visible: the mqueue mount
// from /proc/mounts, or one the manager mounts at the usual /dev/mqueue.
// "" when none can be had.
func (m *Manager) mqueueDir() string {
	mqueueMu.Lock()
	defer mqueueMu.Unlock()
	if mqueueAt != "" {
		return mqueueAt
	}
	if mqueueAt = mountOf("mqueue"); mqueueAt != "" {
		return mqueueAt
	}
	if !m.priv {
		return ""
	}
	dir := "/dev/mqueue"
	mqueueOnce.Do(func() {
		if err := os.MkdirAll(dir, 0o700); err == nil {
			if err := unix.Mount("mqueue", dir, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				m.log.Warn("cannot mount mqueue: POSIX message queues are not cleaned", "err", err)
			}
		}
	})
	mqueueAt = mountOf("mqueue")
	return mqueueAt
}

// mountOf returns the first mount point of file-system type fstype.
func mountOf(fstype string) string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[2] == fstype {
			return f[1]
		}
	}
	return ""
}

// removeMqueues unlinks the POSIX message queues owned by uid.
func (m *Manager) removeMqueues(uid uint32, found *int) error {
	dir := m.mqueueDir()
	if dir == "" {
		return nil
	}
	return walkOwned([]string{dir}, nil, uid, 0, false, func(p string, _ bool) error { *found++; return os.Remove(p) })
}

// spoolDirs hold cron tables, at jobs and mail, by owner.
var spoolDirs = []string{"/var/spool/cron", "/var/spool/at", "/var/mail"}

// removeSpool removes the account's crontab, at jobs and mail.
func removeSpool(a Account, found *int) error {
	var errs []error
	for _, p := range []string{"/var/spool/cron/crontabs/" + a.Name, "/var/spool/cron/" + a.Name, "/var/mail/" + a.Name} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, walkOwned(spoolDirs, nil, a.UID, a.GID, false, func(p string, _ bool) error { *found++; return os.RemoveAll(p) }))
	return errors.Join(errs...)
}
