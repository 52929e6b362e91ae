package gish

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// TestSFTPFollowsTheFileRules uses a real sftp client over real SSH as a
// real account: the home is writable, the read areas readable, nothing
// else, and symlinks or renames do not lead out.
func TestSFTPFollowsTheFileRules(t *testing.T) {
	acct := newRealAccount(t)
	p := DefaultPolicy("engineering", resolveExes(t, "ls", "cat"), acct.home)
	s := startAccountServer(t, acct, p, "")
	link := filepath.Join(acct.home, "etc-link")
	os.Symlink("/etc", link)
	os.Lchown(link, int(acct.uid), int(acct.gid))
	cl, err := gossh.Dial("tcp", s.Addr(), &gossh.ClientConfig{User: "ann",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(s.signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fc, err := sftp.NewClient(cl)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	put := func(path, data string) error {
		f, err := fc.Create(path)
		if err != nil {
			return err
		}
		_, err = f.Write([]byte(data))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	get := func(path string) (string, error) {
		f, err := fc.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		return string(b), err
	}
	if err := put("up.txt", "hello"); err != nil {
		t.Fatalf("upload into the home: %v", err)
	}
	st, err := os.Stat(filepath.Join(acct.home, "up.txt"))
	if err != nil {
		t.Fatalf("uploaded file missing: %v", err)
	}
	if uid, _ := fileUID(st); uid != acct.uid {
		t.Errorf("uploaded file owned by %d, want the account %d (sftp must run as the account)", uid, acct.uid)
	}
	if got, err := get("up.txt"); err != nil || got != "hello" {
		t.Errorf("download from the home: %q, %v", got, err)
	}
	if _, err := get("/etc/hostname"); err != nil {
		t.Errorf("read area /etc: %v", err)
	}
	if err := fc.Mkdir("sub"); err != nil {
		t.Errorf("mkdir in home: %v", err)
	}
	denied := []struct {
		name string
		err  error
	}{
		{"write /etc", put("/etc/igrid-sftp", "x")},
		{"write through symlink", put("etc-link/igrid-sftp", "x")},
		{"write via dotdot", put("../igrid-sftp", "x")},
		{"read program dir", func() error { _, err := get("/usr/bin/dash"); return err }()},
		{"list program dir", func() error { _, err := fc.ReadDir("/usr/bin"); return err }()},
		{"rename out of home", fc.Rename("up.txt", "/tmp/igrid-sftp")},
		{"symlink", fc.Symlink("/etc/shadow", "shadow-link")},
		{"remove outside", fc.Remove("/etc/hostname")},
	}
	for _, d := range denied {
		if d.err == nil {
			t.Errorf("%s: allowed", d.name)
		}
	}
	for _, f := range []string{"/etc/igrid-sftp", "/tmp/igrid-sftp", filepath.Join(filepath.Dir(acct.home), "igrid-sftp")} {
		if _, err := os.Stat(f); err == nil {
			os.Remove(f)
			t.Errorf("sftp wrote %s", f)
		}
	}
	if !strings.Contains(denied[0].err.Error(), "write-areas") && !strings.Contains(denied[0].err.Error(), "ermission") {
		t.Errorf("denial without a reason: %v", denied[0].err)
	}
}
