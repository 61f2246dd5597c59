package whitelist

import "strconv"

// NewList builds a list from entries given somewhere other than a file:
// Windows Group Policy's Servers list, merged by policy.MergeAdmin. path
// names the source in messages; duplicates are dropped as Parse drops them.
func NewList(path string, adminOnly bool, entries []Entry) *List {
	l := &List{Path: path, AdminOnly: adminOnly, byHost: make(map[string]hostRule, len(entries)), Entries: make([]Entry, 0, len(entries))}
	for _, e := range entries {
		l.add(e)
	}
	return l
}

// Locate says where entry e of l is written: "PATH:LINE" for a file,
// `KEY value "N"` for Group Policy's registry list.
func (l *List) Locate(e Entry) string {
	if l.Registry {
		return l.Path + ` value "` + strconv.Itoa(e.Line) + `"`
	}
	return l.Path + ":" + strconv.Itoa(e.Line)
}
