// Package yamlerr is the error of a YAML configuration file (a stack file,
// a module's configuration): the file, the line and the field, so that the
// operator knows where to look. It is a leaf: it imports nothing of the
// project.
package yamlerr

import (
	"fmt"
	"strings"
)

// Error is one unacceptable value. File and Line may be unknown (empty,
// 0) when the value did not come from a file.
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// Error is FILE:LINE: field FIELD: MSG, without what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
		if e.Line > 0 {
			fmt.Fprintf(&b, "%d:", e.Line)
		}
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "field %s: %s", e.Field, e.Msg)
	return b.String()
}

// New returns an error about field, with a formatted message.
func New(field, format string, a ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// List is every problem found in one file, one per line.
type List []*Error

func (l List) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
