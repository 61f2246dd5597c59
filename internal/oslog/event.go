package oslog

import "strings"

// maxEventStrings bounds the strings of one event: ReportEvent takes at
// most 256 insertion strings (the first is the message).
const maxEventStrings = 256

// eventStrings returns the insertion strings of a Windows event: the
// message, a blank line and the fields one per line, then each field as
// "name=value". Lines end in CRLF, as Event Viewer shows them.
func eventStrings(e Entry) []string {
	var first strings.Builder
	first.WriteString(e.Message)
	if len(e.Fields) > 0 {
		first.WriteString("\r\n")
	}
	out := []string{""}
	for _, f := range e.Fields {
		kv := f.Name + "=" + f.Value
		first.WriteString("\r\n" + kv)
		if len(out) < maxEventStrings {
			out = append(out, kv)
		}
	}
	out[0] = first.String()
	return out
}
