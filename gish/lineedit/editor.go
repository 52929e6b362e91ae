package lineedit

import (
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// ErrInterrupt is returned by ReadLine on Ctrl-C: the line is dropped.
var ErrInterrupt = errors.New("interrupted")

// Completer returns, for the line and cursor, where the word being
// completed starts and the candidates for it (whole words).
type Completer func(line string, pos int) (start int, candidates []string)

// Editor reads lines from a terminal.
type Editor struct {
	In       *os.File
	Out      io.Writer
	Complete Completer
	History  *History
	MaxLine  int // longest line accepted; further input is ignored

	buf  []rune
	pos  int
	hist int // index into history while browsing
	save []rune
}

// ReadLine shows prompt and returns one line; io.EOF on Ctrl-D at an empty
// line, ErrInterrupt on Ctrl-C.
func (e *Editor) ReadLine(prompt string) (string, error) {
	fd := int(e.In.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return "", err
	}
	defer term.Restore(fd, old)
	e.buf, e.pos, e.save = e.buf[:0], 0, nil
	e.hist = e.History.Len()
	io.WriteString(e.Out, prompt)
	r := &keyReader{in: e.In}
	for {
		k, err := r.next()
		if err != nil {
			return "", err
		}
		done, line, err := e.key(k, prompt)
		if done {
			return line, err
		}
	}
}

// key applies one key; done reports the end of the line.
func (e *Editor) key(k key, prompt string) (bool, string, error) {
	switch k.code {
	case keyEnter:
		io.WriteString(e.Out, "\r\n")
		line := string(e.buf)
		e.History.Add(line)
		return true, line, nil
	case keyCtrlC:
		io.WriteString(e.Out, "^C\r\n")
		return true, "", ErrInterrupt
	case keyCtrlD:
		if len(e.buf) == 0 {
			io.WriteString(e.Out, "\r\n")
			return true, "", io.EOF
		}
		e.delete()
	case keyBackspace:
		if e.pos > 0 {
			e.pos--
			e.delete()
		}
	case keyDelete:
		e.delete()
	case keyLeft, keyCtrlB:
		e.pos = max(e.pos-1, 0)
	case keyRight, keyCtrlF:
		e.pos = min(e.pos+1, len(e.buf))
	case keyHome, keyCtrlA:
		e.pos = 0
	case keyEnd, keyCtrlE:
		e.pos = len(e.buf)
	case keyCtrlK:
		e.buf = e.buf[:e.pos]
	case keyCtrlU:
		e.buf, e.pos = append(e.buf[:0], e.buf[e.pos:]...), 0
	case keyCtrlW:
		e.killWord()
	case keyUp:
		e.browse(-1)
	case keyDown:
		e.browse(+1)
	case keyTab:
		e.complete(prompt)
	case keyCtrlL:
		io.WriteString(e.Out, "\x1b[H\x1b[2J")
	case keyRune:
		if e.MaxLine != 0 && len(e.buf) >= e.MaxLine {
			return false, "", nil
		}
		if e.pos == len(e.buf) { // typing at the end: echo, no redraw
			e.buf = append(e.buf, k.r)
			e.pos++
			io.WriteString(e.Out, string(k.r))
			return false, "", nil
		}
		e.buf = append(e.buf[:e.pos], append([]rune{k.r}, e.buf[e.pos:]...)...)
		e.pos++
	case keyIgnore:
		return false, "", nil
	}
	e.redraw(prompt)
	return false, "", nil
}

func (e *Editor) delete() {
	if e.pos < len(e.buf) {
		e.buf = append(e.buf[:e.pos], e.buf[e.pos+1:]...)
	}
}

func (e *Editor) killWord() {
	i := e.pos
	for i > 0 && e.buf[i-1] == ' ' {
		i--
	}
	for i > 0 && e.buf[i-1] != ' ' {
		i--
	}
	e.buf = append(e.buf[:i], e.buf[e.pos:]...)
	e.pos = i
}

func (e *Editor) browse(d int) {
	n := e.History.Len()
	next := e.hist + d
	if next < 0 || next > n {
		return
	}
	if e.hist == n {
		e.save = append([]rune(nil), e.buf...)
	}
	e.hist = next
	if next == n {
		e.buf = append(e.buf[:0], e.save...)
	} else {
		e.buf = []rune(e.History.At(next))
	}
	e.pos = len(e.buf)
}

// complete inserts the longest common prefix of the candidates; with
// several, it lists them under the line.
func (e *Editor) complete(prompt string) {
	if e.Complete == nil {
		return
	}
	line := string(e.buf[:e.pos])
	start, cands := e.Complete(line, len(line))
	if len(cands) == 0 {
		return
	}
	word := line[start:]
	common := cands[0]
	for _, c := range cands[1:] {
		for !strings.HasPrefix(c, common) {
			_, size := utf8.DecodeLastRuneInString(common)
			common = common[:len(common)-size]
		}
	}
	if len(cands) == 1 && !strings.HasSuffix(common, "/") {
		common += " "
	}
	if len(common) > len(word) {
		ins := []rune(common[len(word):])
		e.buf = append(e.buf[:e.pos], append(ins, e.buf[e.pos:]...)...)
		e.pos += len(ins)
		return
	}
	if len(cands) > 1 {
		sort.Strings(cands)
		io.WriteString(e.Out, "\r\n"+strings.Join(cands, "  ")+"\r\n")
	}
}

// redraw rewrites the line and puts the cursor back.
func (e *Editor) redraw(prompt string) {
	var b strings.Builder
	b.WriteString("\r")
	b.WriteString(prompt)
	b.WriteString(string(e.buf))
	b.WriteString("\x1b[K")
	if back := len(e.buf) - e.pos; back > 0 {
		b.WriteString("\x1b[")
		b.WriteString(itoa(back))
		b.WriteString("D")
	}
	io.WriteString(e.Out, b.String())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}
