package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// OS names an operating system a template asks for or a node runs.
type OS struct {
	Name    string `json:"name,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Version string `json:"version,omitempty"`
}

// CPU describes processor requirements (template) or capacity (node).
type CPU struct {
	Type     string `json:"type,omitempty"`
	ClockMHz int    `json:"clock_mhz,omitempty"`
	Cores    int    `json:"cores,omitempty"`
}

// QoS is the share of CPU and bandwidth a session asks for.
type QoS struct {
	CPUPercent    int `json:"cpu_percent,omitempty"`
	BandwidthKbps int `json:"bandwidth_kbps,omitempty"`
}

// Security carries the security levels of a request.
type Security struct {
	TrustLevel      string `json:"trust_level,omitempty"`
	SessionStrength string `json:"session_strength,omitempty"`
	DataSecurity    string `json:"data_security,omitempty"`
}

// Template is the job template: what a user asks for when booking a session.
// Every field is optional except UsageTime.
type Template struct {
	OS           OS       `json:"os"`
	CPU          CPU      `json:"cpu"`
	MemoryMB     int      `json:"memory_mb"`
	SwapMB       int      `json:"swap_mb"`
	DiskMB       int      `json:"disk_mb"`
	Applications []string `json:"applications,omitempty"`
	QoS          QoS      `json:"qos"`
	Security     Security `json:"security"`
	Node         string   `json:"node,omitempty"`
	Start        string   `json:"start,omitempty"`
	UsageTime    Duration `json:"usage_time"`
	Desktop      bool     `json:"desktop"`
}

// FieldError says which template field is wrong and why. The API answers it
// with 400 and code "invalid_template".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Limits on template values; anything outside is a FieldError.
const (
	MaxCores     = 4096
	MaxMemoryMB  = 64 << 20 // 64 TiB
	MaxDiskMB    = 1 << 30
	MaxUsageTime = 30 * 24 * time.Hour
	MaxApps      = 64
	maxNameLen   = 128
)

// DecodeTemplate reads a template from JSON, rejecting unknown fields and
// trailing data, and validates it. Errors are *FieldError.
func DecodeTemplate(r io.Reader) (Template, error) {
	var t Template
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, jsonFieldError(err)
	}
	if dec.More() {
		return t, &FieldError{Field: "body", Message: "trailing data after the template"}
	}
	return t, t.Validate()
}

// DecodeTemplateBytes is DecodeTemplate over a byte slice.
func DecodeTemplateBytes(b []byte) (Template, error) { return DecodeTemplate(bytes.NewReader(b)) }

func jsonFieldError(err error) error {
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		return &FieldError{Field: ute.Field, Message: fmt.Sprintf("wrong type: want %s", ute.Type)}
	}
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		name := strings.Trim(msg[i+len("unknown field "):], `"`)
		return &FieldError{Field: name, Message: "unknown field"}
	}
	if strings.Contains(msg, "usage_time") || strings.Contains(msg, "duration") {
		return &FieldError{Field: "usage_time", Message: msg}
	}
	return &FieldError{Field: "body", Message: "not a JSON job template: " + msg}
}

// Validate checks ranges and names the first bad field.
func (t *Template) Validate() error {
	checks := []struct {
		field string
		v, lo int
		hi    int
	}{
		{"cpu.clock_mhz", t.CPU.ClockMHz, 0, 1_000_000},
		{"cpu.cores", t.CPU.Cores, 0, MaxCores},
		{"memory_mb", t.MemoryMB, 0, MaxMemoryMB},
		{"swap_mb", t.SwapMB, 0, MaxMemoryMB},
		{"disk_mb", t.DiskMB, 0, MaxDiskMB},
		{"qos.cpu_percent", t.QoS.CPUPercent, 0, 100 * MaxCores},
		{"qos.bandwidth_kbps", t.QoS.BandwidthKbps, 0, 100_000_000},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.hi {
			return &FieldError{Field: c.field, Message: fmt.Sprintf("%d is out of range [%d, %d]", c.v, c.lo, c.hi)}
		}
	}
	if t.UsageTime <= 0 {
		return &FieldError{Field: "usage_time", Message: "must be a positive duration such as \"30m\""}
	}
	if t.UsageTime.D() > MaxUsageTime {
		return &FieldError{Field: "usage_time", Message: fmt.Sprintf("%s is longer than the maximum %s", t.UsageTime, MaxUsageTime)}
	}
	if t.Start != "" {
		if _, err := time.Parse(time.RFC3339, t.Start); err != nil {
			return &FieldError{Field: "start", Message: fmt.Sprintf("%q is not an RFC 3339 time such as 2026-11-22T10:00:00Z", t.Start)}
		}
	}
	return t.validateNames()
}

func (t *Template) validateNames() error {
	if len(t.Applications) > MaxApps {
		return &FieldError{Field: "applications", Message: fmt.Sprintf("at most %d applications", MaxApps)}
	}
	for i, a := range t.Applications {
		if !validName(a) {
			return &FieldError{Field: fmt.Sprintf("applications[%d]", i), Message: fmt.Sprintf("%q is not an application name", a)}
		}
	}
	if t.Node != "" && !validName(t.Node) {
		return &FieldError{Field: "node", Message: fmt.Sprintf("%q is not a node name", t.Node)}
	}
	return nil
}

// validName accepts the names of nodes, applications, users and classes:
// letters, digits, '.', '_', '+', '-', not empty, at most 128 bytes.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-' || r == '+'
		if !ok {
			return false
		}
	}
	return true
}

// ValidName reports whether s is an acceptable user, node, class or application name.
func ValidName(s string) bool { return validName(s) }

// StartTime returns the requested start, or now when Start is empty.
// Call after Validate.
func (t *Template) StartTime(now time.Time) time.Time {
	if t.Start == "" {
		return now
	}
	s, _ := time.Parse(time.RFC3339, t.Start)
	if s.Before(now) {
		return now
	}
	return s
}

// CoresDemand is the number of cores the template reserves: at least one.
func (t *Template) CoresDemand() int { return max(t.CPU.Cores, 1) }
