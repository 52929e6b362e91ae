// Package lineedit is GISH's small line editor: raw mode on the terminal
// (golang.org/x/term) only while a line is read, Emacs keys, history with
// up/down, and tab completion from a callback. GISH gives it the allowed
// commands and readable paths to complete; programs get the terminal back
// in its normal mode.
package lineedit
