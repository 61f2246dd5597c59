// Package tomlpos finds where a value of a TOML file was defined, so that a
// problem in an admin or user file (profiles, the policy) names its line.
// github.com/BurntSushi/toml reports positions only in its errors, so the
// line is read from an error provoked on purpose.
package tomlpos

import (
	"errors"

	"github.com/BurntSushi/toml"
)

// IsTable reports whether a value is a TOML table. PrimitiveDecode into a
// map cannot tell: it decodes a number or an array of tables as an empty
// map, silently.
func IsTable(md *toml.MetaData, prim toml.Primitive) bool {
	var v any
	if err := md.PrimitiveDecode(prim, &v); err != nil {
		return false
	}
	_, ok := v.(map[string]any)
	return ok
}

// lineProbe fails on purpose, so that the TOML library reports the position
// of the key being decoded.
type lineProbe struct{}

var errLineProbe = errors.New("line probe")

func (lineProbe) UnmarshalTOML(any) error { return errLineProbe }

// Line returns the line where a key's value was defined, or 0 when the
// library does not know (a table implied by a dotted key).
func Line(md *toml.MetaData, prim toml.Primitive) int {
	var pe toml.ParseError
	if err := md.PrimitiveDecode(prim, &lineProbe{}); errors.As(err, &pe) {
		return pe.Position.Line
	}
	return 0
}

// FirstLine is Line, but for a table that the library has no position for
// (one implied by [a.b] or a.b = ...) it returns the first line of its
// contents.
func FirstLine(md *toml.MetaData, prim toml.Primitive) int {
	if line := Line(md, prim); line > 0 || !IsTable(md, prim) {
		return line
	}
	var children map[string]toml.Primitive
	if md.PrimitiveDecode(prim, &children) != nil {
		return 0
	}
	first := 0
	for _, c := range children {
		if l := FirstLine(md, c); l > 0 && (first == 0 || l < first) {
			first = l
		}
	}
	return first
}
