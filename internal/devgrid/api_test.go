package devgrid

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// TestLastCapacity sends two concurrent requests for all the cores of one
// node in the same window: exactly one is scheduled; the other is queued
// to the earliest start the book allows, the end of the first.
func TestLastCapacity(t *testing.T) {
	g := startGrid(t, 1)
	ctx := context.Background()
	c := client.New(g.Info.APIURL, g.Info.Token)
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %v %v", nodes, err)
	}
	tmpl := proto.Template{UsageTime: proto.Duration(time.Hour), CPU: proto.CPU{Cores: nodes[0].CPU.Cores},
		Start: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	var wg sync.WaitGroup
	results := make([]error, 2)
	sessions := make([]*proto.Session, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i], results[i] = c.RequestSession(ctx, tmpl)
		}()
	}
	wg.Wait()
	var scheduled, queued *proto.Session
	for i, err := range results {
		switch {
		case err == nil && sessions[i].State == proto.StateScheduled:
			scheduled = sessions[i]
		case err == nil && sessions[i].State == proto.StateQueued:
			queued = sessions[i]
		default:
			t.Errorf("unexpected answer: %+v, %v", sessions[i], err)
		}
	}
	if scheduled == nil || queued == nil || !queued.Start.Equal(scheduled.End) {
		t.Fatalf("want one scheduled and one queued at its end: %+v, %+v", scheduled, queued)
	}
}

// TestBadTemplate checks that a bad job template gets 400 naming the field
// and leaves no session behind.
func TestBadTemplate(t *testing.T) {
	g := startGrid(t, 1)
	tests := []struct{ name, body, field string }{
		{"negative memory", `{"usage_time":"10m","memory_mb":-5}`, "memory_mb"},
		{"unknown field", `{"usage_time":"10m","gpu":1}`, "gpu"},
		{"zero usage time", `{"usage_time":"0s"}`, "usage_time"},
		{"missing usage time", `{}`, "usage_time"},
		{"wrong type", `{"usage_time":"10m","cpu":{"cores":"two"}}`, "cores"},
		{"bad start", `{"usage_time":"10m","start":"tomorrow"}`, "start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", g.Info.APIURL+"/sessions", strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+g.Info.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string }
			}
			decodeJSON(t, resp, &body)
			if resp.StatusCode != 400 || !strings.Contains(body.Error.Message, tt.field) {
				t.Errorf("status %d, error %+v; want 400 naming %q", resp.StatusCode, body.Error, tt.field)
			}
		})
	}
	all, err := client.New(g.Info.APIURL, g.Info.AdminToken).Sessions(context.Background())
	if err != nil || len(all) != 0 {
		t.Errorf("sessions after bad templates: %d (%v), want none", len(all), err)
	}
}
