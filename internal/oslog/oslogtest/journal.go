// Package oslogtest is test support for internal/oslog: a receiver of
// journald's native protocol, written from systemd's description of it
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), not from
// internal/oslog's sender, so that the sender is checked against the
// protocol rather than against itself. Only tests import it.
package oslogtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Field is one key/value pair of a journal entry, in the order sent.
type Field struct {
	Key, Value string
}

// Entry is one journal entry: its fields in the order they came, which
// may repeat a key, as the protocol allows.
type Entry []Field

// Get returns the first value of key, and whether there is one.
func (e Entry) Get(key string) (string, bool) {
	for _, f := range e {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// ParseJournal reads one entry in the native format: pairs serialized
// either as KEY=VALUE and a newline, or as KEY, a newline, the value's
// size as an unaligned little-endian 64-bit number, the value, and a
// newline. A key may not be empty, hold "=", a control character or
// anything but ASCII; keys starting with "_" are the receiver's trusted
// fields, which a client must not send.
func ParseJournal(data []byte) (Entry, error) {
	var e Entry
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("a field without its newline: %q", data)
		}
		line := data[:nl]
		if key, value, ok := bytes.Cut(line, []byte("=")); ok {
			if err := checkKey(string(key)); err != nil {
				return nil, err
			}
			e = append(e, Field{string(key), string(value)})
			data = data[nl+1:]
			continue
		}
		key := string(line)
		if err := checkKey(key); err != nil {
			return nil, err
		}
		rest := data[nl+1:]
		if len(rest) < 8 {
			return nil, fmt.Errorf("field %s: no size after the key", key)
		}
		n := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if uint64(len(rest)) < n+1 || rest[n] != '\n' {
			return nil, fmt.Errorf("field %s: a value of %d bytes does not end in a newline", key, n)
		}
		e = append(e, Field{key, string(rest[:n])})
		data = rest[n+1:]
	}
	return e, nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("an empty key")
	case strings.HasPrefix(key, "_"):
		return fmt.Errorf("key %q is a trusted field, which clients must not send", key)
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e || r == '=' {
			return fmt.Errorf("key %q holds %q", key, r)
		}
	}
	return nil
}
