package webportal

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

func TestTemplateFromForm(t *testing.T) {
	tests := []struct {
		name  string
		form  map[string]string
		field string // "" = valid
		check func(proto.Template) bool
	}{
		{"minimal", map[string]string{"usage_time": "30m"}, "", func(t proto.Template) bool {
			return t.UsageTime.D() == 30*time.Minute && t.CPU.Cores == 0
		}},
		{"all fields", map[string]string{"usage_time": "1h", "cores": "2", "memory_mb": "512", "disk_mb": "10",
			"applications": "vim, python3", "node": "node-b", "start": "2026-11-23T09:30"}, "", func(t proto.Template) bool {
			return t.CPU.Cores == 2 && t.MemoryMB == 512 && len(t.Applications) == 2 && t.Applications[1] == "python3" &&
				t.Node == "node-b" && t.Start != ""
		}},
		{"bad usage time", map[string]string{"usage_time": "abc"}, "usage_time", nil},
		{"bad cores", map[string]string{"usage_time": "1h", "cores": "two"}, "cores", nil},
		{"bad start", map[string]string{"usage_time": "1h", "start": "soon"}, "start", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := templateFromForm(tt.form)
			var fe *proto.FieldError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field):
				t.Fatalf("error %v, want a FieldError on %s", err, tt.field)
			case tt.check != nil && !tt.check(got):
				t.Errorf("template %+v is not what the form said", got)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		origin, referer string
		want            bool
	}{
		{"", "", true},
		{"http://portal.example:8080", "", true},
		{"http://evil.example", "", false},
		{"", "http://evil.example/page", false},
		{"", "http://portal.example:8080/", true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "http://portal.example:8080/request", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.referer != "" {
			r.Header.Set("Referer", tt.referer)
		}
		if got := sameOrigin(r); got != tt.want {
			t.Errorf("origin %q referer %q: sameOrigin = %v, want %v", tt.origin, tt.referer, got, tt.want)
		}
	}
}
