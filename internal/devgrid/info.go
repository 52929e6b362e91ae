package devgrid

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// Info is the content of DIR/dev.json (DESIGN.md "igrid dev"). Scripts and
// tests drive a dev grid through it and the API alone.
type Info struct {
	APIURL        string   `json:"api_url"`
	PortalURL     string   `json:"portal_url"`
	User          string   `json:"user"`
	Password      string   `json:"password"`
	Token         string   `json:"token"`
	SSHKey        string   `json:"ssh_key"`
	AdminUser     string   `json:"admin_user"`
	AdminPassword string   `json:"admin_password"`
	AdminToken    string   `json:"admin_token"`
	PoliciesDir   string   `json:"policies_dir"`
	Nodes         []string `json:"nodes"`
	// DemoSession is the id of the session booked at start, if any.
	DemoSession string `json:"demo_session,omitempty"`
	// SSHCommand is a ready-to-paste command for the demo session.
	SSHCommand string `json:"ssh_command,omitempty"`
}

// InfoFile is the path of dev.json in dir.
func InfoFile(dir string) string { return filepath.Join(dir, "dev.json") }

// ReadInfo reads dir/dev.json.
func ReadInfo(dir string) (*Info, error) {
	b, err := os.ReadFile(InfoFile(dir))
	if err != nil {
		return nil, err
	}
	var in Info
	return &in, json.Unmarshal(b, &in)
}

func (in *Info) write(dir string) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	tmp := InfoFile(dir) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, InfoFile(dir))
}
