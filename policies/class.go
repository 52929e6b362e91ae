package policies

import (
	"fmt"

	"github.com/igrid/igrid/internal/proto"
	"gopkg.in/yaml.v3"
)

// SessionLimits are the session-policy limits of a class. Zero means
// "no limit from this class".
type SessionLimits struct {
	MaxUsageTime proto.Duration `yaml:"max_usage_time" json:"max_usage_time"`
	MaxProcesses int            `yaml:"max_processes" json:"max_processes"`
}

// AccountPool says how a node builds the class's pool of dynamic accounts.
type AccountPool struct {
	Prefix string `yaml:"prefix" json:"prefix"`
	Size   int    `yaml:"size" json:"size"`
}

// file is one class file as written by an administrator.
type file struct {
	Class       string        `yaml:"class"`
	Inherits    []string      `yaml:"inherits"`
	Description string        `yaml:"description"`
	Executables []string      `yaml:"executables"`
	Session     SessionLimits `yaml:"session"`
	AccountPool AccountPool   `yaml:"account_pool"`

	path string // where it was read from
	line int    // line of the "class:" key
}

// Class is the merged view of one class: its own rules plus everything it
// inherits.
type Class struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Inherits    []string      `json:"inherits"`
	Executables []string      `json:"executables"`
	Session     SessionLimits `json:"session"`
	AccountPool AccountPool   `json:"account_pool"`
	// Chain is this class followed by its ancestors, nearest first, each once.
	Chain []string `json:"chain"`
	// File is the file the class was defined in.
	File string `json:"file"`
}

// UnmarshalYAML decodes the session section so that a bad duration is
// reported with its line, like every other problem.
func (s *SessionLimits) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		MaxUsageTime string `yaml:"max_usage_time"`
		MaxProcesses int    `yaml:"max_processes"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	if err := s.MaxUsageTime.UnmarshalText([]byte(raw.MaxUsageTime)); err != nil {
		return fmt.Errorf("line %d: session.max_usage_time: %v", keyValueLine(n, "max_usage_time"), err)
	}
	s.MaxProcesses = raw.MaxProcesses
	return nil
}

func keyValueLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1].Line
		}
	}
	return m.Line
}
