package lineedit

import (
	"io"
	"unicode/utf8"
)

type keyCode int

const (
	keyRune keyCode = iota
	keyEnter
	keyBackspace
	keyDelete
	keyTab
	keyUp
	keyDown
	keyLeft
	keyRight
	keyHome
	keyEnd
	keyCtrlA
	keyCtrlB
	keyCtrlC
	keyCtrlD
	keyCtrlE
	keyCtrlF
	keyCtrlK
	keyCtrlL
	keyCtrlU
	keyCtrlW
	keyIgnore
)

type key struct {
	code keyCode
	r    rune
}

var controls = map[byte]keyCode{
	'\r': keyEnter, '\n': keyEnter, 0x7f: keyBackspace, 0x08: keyBackspace, '\t': keyTab,
	0x01: keyCtrlA, 0x02: keyCtrlB, 0x03: keyCtrlC, 0x04: keyCtrlD, 0x05: keyCtrlE,
	0x06: keyCtrlF, 0x0b: keyCtrlK, 0x0c: keyCtrlL, 0x15: keyCtrlU, 0x17: keyCtrlW,
}

// escapes are the CSI sequences after ESC [ (or ESC O).
var escapes = map[string]keyCode{
	"A": keyUp, "B": keyDown, "C": keyRight, "D": keyLeft, "H": keyHome, "F": keyEnd,
	"1~": keyHome, "4~": keyEnd, "7~": keyHome, "8~": keyEnd, "3~": keyDelete,
}

// keyReader decodes keys from raw terminal bytes. It reads one byte at a
// time and keeps nothing: what follows a line (typed ahead for the program
// the line starts, or the next line) stays in the terminal.
type keyReader struct {
	in  io.Reader
	one [1]byte
}

func (k *keyReader) byte() (byte, error) {
	for {
		n, err := k.in.Read(k.one[:])
		if n == 1 {
			return k.one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func (k *keyReader) next() (key, error) {
	c, err := k.byte()
	if err != nil {
		return key{}, err
	}
	if code, ok := controls[c]; ok {
		return key{code: code}, nil
	}
	if c == 0x1b {
		return k.escape()
	}
	if c < 0x20 {
		return key{code: keyIgnore}, nil // other control characters never enter a line
	}
	if c < utf8.RuneSelf {
		return key{code: keyRune, r: rune(c)}, nil
	}
	seq := []byte{c}
	for !utf8.FullRune(seq) && len(seq) < utf8.UTFMax {
		b, err := k.byte()
		if err != nil {
			return key{}, err
		}
		seq = append(seq, b)
	}
	r, _ := utf8.DecodeRune(seq)
	return key{code: keyRune, r: r}, nil
}

func (k *keyReader) escape() (key, error) {
	c, err := k.byte()
	if err != nil || (c != '[' && c != 'O') {
		return key{code: keyIgnore}, err
	}
	var seq []byte
	for len(seq) < 8 {
		b, err := k.byte()
		if err != nil {
			return key{}, err
		}
		seq = append(seq, b)
		if b >= 0x40 && b <= 0x7e {
			break
		}
	}
	if code, ok := escapes[string(seq)]; ok {
		return key{code: code}, nil
	}
	return key{code: keyIgnore}, nil
}
