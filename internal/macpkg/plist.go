package macpkg

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ReadPlist decodes an XML property list (Apple's PropertyList-1.0 DTD)
// into Go values: dict as map[string]any, array as []any, string, integer
// as int64, true and false as bool. Other element types (real, date, data)
// are an error: trustlaunch's plists have none. BuildPkg reads the bundle's
// identifier and version with it, and the tests read Info.plist back.
func ReadPlist(data []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		t, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("plist: %w", err)
		}
		if se, ok := t.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("plist: root element <%s>, want <plist>", se.Name.Local)
			}
			v, err := plistValue(d, nil)
			if err != nil {
				return nil, fmt.Errorf("plist: %w", err)
			}
			return v, nil
		}
	}
}

// plistValue reads the next value element; start is its start tag when the
// caller read it already.
func plistValue(d *xml.Decoder, start *xml.StartElement) (any, error) {
	if start == nil {
		se, err := nextStart(d)
		if err != nil {
			return nil, err
		}
		start = &se
	}
	switch start.Name.Local {
	case "string", "integer", "key":
		var s string
		if err := d.DecodeElement(&s, start); err != nil {
			return nil, err
		}
		if start.Name.Local == "integer" {
			return strconv.ParseInt(s, 10, 64)
		}
		return s, nil
	case "true", "false":
		if err := d.Skip(); err != nil {
			return nil, err
		}
		return start.Name.Local == "true", nil
	case "array":
		a := []any{}
		for {
			se, end, err := nextStartOrEnd(d)
			if err != nil {
				return nil, err
			}
			if end {
				return a, nil
			}
			v, err := plistValue(d, &se)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case "dict":
		m := map[string]any{}
		for {
			se, end, err := nextStartOrEnd(d)
			if err != nil {
				return nil, err
			}
			if end {
				return m, nil
			}
			if se.Name.Local != "key" {
				return nil, fmt.Errorf("<dict> holds <%s> where a <key> belongs", se.Name.Local)
			}
			var k string
			if err := d.DecodeElement(&k, &se); err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("<dict> has the key %q twice", k)
			}
			v, err := plistValue(d, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = v
		}
	}
	return nil, fmt.Errorf("unsupported element <%s>", start.Name.Local)
}

func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	se, end, err := nextStartOrEnd(d)
	if err == nil && end {
		err = errors.New("value missing")
	}
	return se, err
}

// nextStartOrEnd skips character data and comments up to the next start
// tag (end false) or end tag (end true).
func nextStartOrEnd(d *xml.Decoder) (xml.StartElement, bool, error) {
	for {
		t, err := d.Token()
		if err == io.EOF {
			return xml.StartElement{}, false, io.ErrUnexpectedEOF
		}
		if err != nil {
			return xml.StartElement{}, false, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return t, false, nil
		case xml.EndElement:
			return xml.StartElement{}, true, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, false, fmt.Errorf("text %q outside a value", bytes.TrimSpace(t))
			}
		}
	}
}
