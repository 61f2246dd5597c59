package squidacl

import (
	"fmt"
	"net/url"
	"strings"
)

// fieldsWithoutChannel is the count of values squid.conf's format gives:
// %>ha{Proxy-Authorization} %SRC %DST %PORT %DATA.
const fieldsWithoutChannel = 5

// maxChannelDigits bounds a channel ID: Squid's are below its
// concurrency= setting.
const maxChannelDigits = 9

// Request is one lookup as Squid sends it.
type Request struct {
	// Channel is the channel ID to echo, "" when Squid sends none
	// (concurrency=0).
	Channel string
	// Authorization is the Proxy-Authorization header's value, decoded;
	// "" when the request had none.
	Authorization string
	// Source is the client's address (%SRC).
	Source string
	// DestHost and DestPort are the CONNECT request's destination (%DST,
	// %PORT).
	DestHost, DestPort string
}

// ProtocolError is a request line the helper does not understand. Its
// message never quotes the line: it may hold a token. Channel is the
// channel ID when one could be read, for the BH answer.
type ProtocolError struct {
	Channel string
	Msg     string
}

func (e *ProtocolError) Error() string { return e.Msg }

// ParseRequest parses one request line, without its newline.
func ParseRequest(line string) (Request, error) {
	fields := strings.Split(line, " ")
	var r Request
	switch {
	case len(fields) == fieldsWithoutChannel+1 && isChannel(fields[0]):
		r.Channel, fields = fields[0], fields[1:]
	case len(fields) == fieldsWithoutChannel && fields[4] != "-" && isChannel(fields[0]):
		// Most likely a channel ID and one value too few: a format
		// without one of the four values.
		return r, &ProtocolError{Channel: fields[0], Msg: fmt.Sprintf(
			"the request has %d fields after the channel ID, want %d (%%>ha{Proxy-Authorization} %%SRC %%DST %%PORT, and %%DATA, which Squid adds): check the format of external_acl_type in squid.conf",
			len(fields)-1, fieldsWithoutChannel)}
	case len(fields) == fieldsWithoutChannel:
	default:
		return r, &ProtocolError{Channel: channelOf(line), Msg: fmt.Sprintf(
			"the request has %d fields, want %d (%%>ha{Proxy-Authorization} %%SRC %%DST %%PORT, and %%DATA, which Squid adds), after a channel ID with concurrency= above 0: check the format of external_acl_type in squid.conf",
			len(fields), fieldsWithoutChannel)}
	}
	for i, f := range fields {
		if f == "" {
			return r, &ProtocolError{Channel: r.Channel, Msg: fmt.Sprintf("field %d of the request is empty (two spaces in a row)", i+1)}
		}
	}
	if fields[4] != "-" {
		return r, &ProtocolError{Channel: r.Channel, Msg: "the acl line gives arguments (%DATA is not \"-\"), which this helper does not take: write \"acl NAME external TYPE\" with nothing after it"}
	}
	vals := make([]string, 4)
	for i, f := range fields[:4] {
		if f == "-" {
			continue
		}
		v, err := url.PathUnescape(f)
		if err != nil {
			return r, &ProtocolError{Channel: r.Channel, Msg: fmt.Sprintf("field %d of the request is not URL-escaped as Squid writes it", i+1)}
		}
		vals[i] = v
	}
	r.Authorization, r.Source, r.DestHost, r.DestPort = vals[0], vals[1], vals[2], vals[3]
	return r, nil
}

// isChannel reports whether f is a channel ID: a decimal number.
func isChannel(f string) bool {
	if f == "" || len(f) > maxChannelDigits {
		return false
	}
	for i := 0; i < len(f); i++ {
		if f[i] < '0' || f[i] > '9' {
			return false
		}
	}
	return true
}

// channelOf returns the channel ID a line starts with, or "": what a BH
// answer to a line that does not parse can echo. Only digits are ever
// echoed, never another part of the line, which may be a token.
func channelOf(line string) string {
	first, _, _ := strings.Cut(line, " ")
	if isChannel(first) {
		return first
	}
	return ""
}

// Code is the result of a lookup.
type Code string

// The results of Squid's external ACL protocol.
const (
	OK     Code = "OK"  // the ACL matches: the token admits the request
	Denied Code = "ERR" // the ACL does not match: the token does not
	Broken Code = "BH"  // the helper cannot tell
)

// Result is the answer to one request.
type Result struct {
	Code Code
	// User is the user= keyword: Squid logs it as the user (%un, %ue).
	User string
	// Log is the log= keyword: %ea in a logformat.
	Log string
	// Message is the message= keyword: why, for ERR and BH (%o in error
	// pages).
	Message string
}

// AppendLine appends the answer line for channel (may be "") to dst,
// with its newline. Keyword values are URL-escaped, so nothing in them
// can end the line or start another keyword.
func (r Result) AppendLine(dst []byte, channel string) []byte {
	if channel != "" {
		dst = append(dst, channel...)
		dst = append(dst, ' ')
	}
	dst = append(dst, r.Code...)
	for _, kv := range [...]struct{ k, v string }{{"user", r.User}, {"log", r.Log}, {"message", r.Message}} {
		if kv.v == "" {
			continue
		}
		dst = append(dst, ' ')
		dst = append(dst, kv.k...)
		dst = append(dst, '=')
		dst = appendEscaped(dst, kv.v)
	}
	return append(dst, '\n')
}

// appendEscaped URL-escapes everything but letters, digits and "-._~"
// (RFC 3986 unreserved), which Squid decodes back.
func appendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}
