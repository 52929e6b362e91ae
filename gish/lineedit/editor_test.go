package lineedit

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// feed runs keys through an editor without a terminal and returns the
// line it ends with.
func feed(t *testing.T, e *Editor, input string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	e.Out = &out
	e.buf, e.pos = e.buf[:0], 0
	e.hist = e.History.Len()
	r := &keyReader{in: strings.NewReader(input)}
	for {
		k, err := r.next()
		if err != nil {
			return "", err
		}
		if done, line, err := e.key(k, "$ "); done {
			return line, err
		}
	}
}

func TestEditorKeys(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "echo hi\r", "echo hi"},
		{"backspace", "echo hix\x7f\r", "echo hi"},
		{"left and insert", "ech\x1b[D\x1b[Do\r", "eoch"},
		{"home and end", "cho\x01e\x05!\r", "echo!"},
		{"kill to end", "echo hi\x01\x06\x06\x0b\r", "ec"},
		{"kill word", "echo hello\x17\r", "echo "},
		{"kill line", "junk\x15ls\r", "ls"},
		{"delete key", "eXcho\x01\x06\x1b[3~\r", "echo"},
		{"control characters are dropped", "e\x00c\x1bxho\r", "echo"},
		{"utf-8", "echo é\r", "echo é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := feed(t, &Editor{}, tc.in)
			if err != nil || got != tc.want {
				t.Errorf("line %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestEditorInterruptEOFHistory(t *testing.T) {
	e := &Editor{History: OpenHistory(nil)}
	if _, err := feed(t, e, "abc\x03"); err != ErrInterrupt {
		t.Errorf("Ctrl-C: %v", err)
	}
	if _, err := feed(t, e, "\x04"); err != io.EOF {
		t.Errorf("Ctrl-D on empty line: %v", err)
	}
	feed(t, e, "first\r")
	feed(t, e, "second\r")
	if got, _ := feed(t, e, "\x1b[A\x1b[A\r"); got != "first" {
		t.Errorf("up up = %q, want first", got)
	}
	if got, _ := feed(t, e, "x\x1b[A\x1b[B\r"); got != "x" {
		t.Errorf("up down restores the typed line: %q", got)
	}
}

func TestEditorCompletion(t *testing.T) {
	e := &Editor{Complete: func(line string, pos int) (int, []string) {
		start := strings.LastIndexByte(line[:pos], ' ') + 1
		var out []string
		for _, c := range []string{"vim", "view", "ls"} {
			if strings.HasPrefix(c, line[start:pos]) {
				out = append(out, c)
			}
		}
		return start, out
	}}
	if got, _ := feed(t, e, "l\t\r"); got != "ls " {
		t.Errorf("single candidate: %q", got)
	}
	if got, _ := feed(t, e, "v\t\r"); got != "vi" {
		t.Errorf("common prefix: %q", got)
	}
	if got, _ := feed(t, e, "x\t\r"); got != "x" {
		t.Errorf("no candidate: %q", got)
	}
}

func TestEditorLeavesTheRestUnread(t *testing.T) {
	in := strings.NewReader("first\rsecond\r")
	e := &Editor{Out: io.Discard}
	r := &keyReader{in: in}
	for {
		k, _ := r.next()
		if done, line, _ := e.key(k, "$ "); done {
			if line != "first" {
				t.Fatalf("line %q", line)
			}
			break
		}
	}
	if rest, _ := io.ReadAll(in); string(rest) != "second\r" {
		t.Errorf("the editor consumed past its line: rest %q", rest)
	}
}
