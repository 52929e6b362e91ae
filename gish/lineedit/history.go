package lineedit

import (
	"bufio"
	"os"
	"strings"
	"sync"
)

// MaxHistory is how many lines a history keeps.
const MaxHistory = 1000

// History is the list of entered lines, optionally persisted to a file
// (one line each, appended as entered).
type History struct {
	mu    sync.Mutex
	lines []string
	file  *os.File
}

// OpenHistory loads the last MaxHistory lines of f and appends to it;
// f may be nil (no persistence).
func OpenHistory(f *os.File) *History {
	h := &History{file: f}
	if f == nil {
		return h
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		h.lines = append(h.lines, sc.Text())
		if len(h.lines) > MaxHistory {
			h.lines = h.lines[1:]
		}
	}
	return h
}

// Add records a line (blank lines and repeats of the last are skipped).
func (h *History) Add(line string) {
	if h == nil || strings.TrimSpace(line) == "" || strings.ContainsAny(line, "\n\r") {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > MaxHistory {
		h.lines = h.lines[1:]
	}
	if h.file != nil {
		h.file.WriteString(line + "\n")
	}
}

// Len is the number of lines.
func (h *History) Len() int {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.lines)
}

// At is line i (0 = oldest).
func (h *History) At(i int) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lines[i]
}

// Close closes the history file.
func (h *History) Close() error {
	if h == nil || h.file == nil {
		return nil
	}
	return h.file.Close()
}
