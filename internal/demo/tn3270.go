package demo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// The demo's TN3270 host: just enough of a mainframe application for c3270
// to show a real 3270 session through the tunnel. It negotiates TN3270 as
// RFC 1576 describes (terminal type, binary and end-of-record, RFC 1091,
// 856 and 885), then sends a formatted screen in the 3270 data stream (IBM
// GA23-0059, "3270 Data Stream Programmer's Reference"): a title, a field to
// type into, and an answer each time the user presses Enter. It never offers
// TN3270E (RFC 2355): a client that asks for it is refused, and RFC 2355
// section 6 has it fall back to plain TN3270, which c3270 does.

// Telnet bytes (RFC 854) and options.
const (
	tnSE   = 240
	tnEOR  = 239 // the end-of-record mark, IAC EOR (RFC 885)
	tnSB   = 250
	tnWILL = 251
	tnWONT = 252
	tnDO   = 253
	tnDONT = 254
	tnIAC  = 255

	optBinary   = 0  // RFC 856
	optTermType = 24 // RFC 1091
	optEOR      = 25 // RFC 885

	ttIS   = 0
	ttSEND = 1
)

// 3270 data stream: commands, orders, attributes and AIDs.
const (
	cmdEraseWrite = 0xF5 // Erase/Write: clear the screen (default size, 24x80) and write

	orderSF  = 0x1D // Start Field, followed by the field attribute
	orderSBA = 0x11 // Set Buffer Address, followed by a 2-byte address
	orderIC  = 0x13 // Insert Cursor at the current address

	// Field attributes, before the 6-bit translation of addrCode.
	attrProtected = 0x20
	attrNumeric   = 0x10 // with protected: autoskip
	attrBright    = 0x08 // intensified display
	attrMDT       = 0x01 // modified data tag: the field is sent back even when unchanged

	wccRestoreReset = 0xC3 // WCC: keyboard restore and reset MDT bits (0x03 translated)

	aidEnter = 0x7D
	aidClear = 0x6D
	aidPF3   = 0xF3
	aidPA1   = 0x6C
	aidPA2   = 0x6E
	aidPA3   = 0x6B
)

const (
	screenCols = 80
	screenRows = 24

	// tnMaxRecord caps one inbound record: a 24x80 screen of modified
	// fields is under 2 KiB, so anything much larger is not a 3270 terminal.
	tnMaxRecord = 8 << 10
	// tnMaxSub caps a subnegotiation (a terminal type name).
	tnMaxSub = 256
	// tnIdle ends a session nobody types into.
	tnIdle = 15 * time.Minute
)

// addrCode is the 6-bit code table of 3270 buffer addresses and field
// attributes: each 6-bit value is sent as the EBCDIC graphic at its index.
var addrCode = [64]byte{
	0x40, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
	0x50, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F,
	0x60, 0x61, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F,
	0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F,
}

// encodeAddr returns the 12-bit form of a buffer address (row*80+col),
// which every 3270 accepts for a 24x80 screen.
func encodeAddr(a int) [2]byte { return [2]byte{addrCode[(a>>6)&0x3F], addrCode[a&0x3F]} }

// decodeAddr reads an inbound buffer address: 14-bit binary when the top
// two bits of the first byte are 00, 12-bit coded otherwise.
func decodeAddr(b0, b1 byte) int {
	if b0&0xC0 == 0 {
		return int(b0&0x3F)<<8 | int(b1)
	}
	return int(b0&0x3F)<<6 | int(b1&0x3F)
}

// ebcdic is code page 037, c3270's default host code page.
var ebcdic = charmap.CodePage037

// toEBCDIC encodes printable ASCII; anything else becomes a space.
func toEBCDIC(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		b, ok := ebcdic.EncodeRune(r)
		if !ok || r < ' ' || r > '~' {
			b = 0x40
		}
		out = append(out, b)
	}
	return out
}

// fromEBCDIC decodes what a terminal typed, keeping printable ASCII and
// turning anything else into "?": the answer goes back to a screen.
func fromEBCDIC(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		r := ebcdic.DecodeByte(c)
		if c == 0 {
			continue // nulls are unfilled positions of the field
		}
		if r < ' ' || r > '~' {
			r = '?'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// screen builds one outbound 3270 data stream.
type screen struct{ b bytes.Buffer }

func (s *screen) at(row, col int) *screen {
	a := encodeAddr(row*screenCols + col)
	s.b.WriteByte(orderSBA)
	s.b.Write(a[:])
	return s
}

// field starts a field at the current address; its attribute takes that
// position on the screen.
func (s *screen) field(attr byte) *screen {
	s.b.WriteByte(orderSF)
	s.b.WriteByte(addrCode[attr&0x3F])
	return s
}

func (s *screen) text(t string) *screen { s.b.Write(toEBCDIC(t)); return s }

func (s *screen) cursor() *screen { s.b.WriteByte(orderIC); return s }

// The demo screen's layout.
const (
	inputRow, inputCol = 8, 17 // the attribute byte of the input field
	inputLen           = 40
)

// Title is the first line of the demo host's 3270 screen.
const Title = "trustlaunch demo host (TN3270)"

// demoScreen is the whole screen, with the answer to the last Enter.
func demoScreen(answer string) []byte {
	s := &screen{}
	s.b.WriteByte(cmdEraseWrite)
	s.b.WriteByte(wccRestoreReset)
	s.at(1, 1).field(attrProtected | attrBright).text(Title)
	s.at(3, 1).field(attrProtected).text("This screen came from a 3270 host on 127.0.0.1, through the security")
	s.at(4, 1).text("proxy's TLS tunnel, to the c3270 profile that trustlaunch started.")
	s.at(inputRow, 1).field(attrProtected | attrBright).text("Type here ===>")
	s.at(inputRow, inputCol).field(0).cursor()
	// A protected field right after the input ends it, so typing stops at
	// its last position.
	s.at(inputRow, inputCol+1+inputLen).field(attrProtected | attrNumeric)
	if answer != "" {
		s.at(11, 1).field(attrProtected | attrBright).text(answer)
	}
	s.at(screenRows-2, 1).field(attrProtected).text("Enter: send   PF3: end the session")
	return s.b.Bytes()
}

// goodbyeScreen is the last screen, before the host hangs up.
func goodbyeScreen() []byte {
	s := &screen{}
	s.b.WriteByte(cmdEraseWrite)
	s.b.WriteByte(wccRestoreReset)
	s.at(1, 1).field(attrProtected | attrBright).text("Session ended by PF3. Goodbye.")
	return s.b.Bytes()
}

// Answer is the host's answer to text typed into the field.
func Answer(typed string) string {
	if typed == "" {
		return "Host: the field was empty; type something and press Enter."
	}
	return "Host: you typed " + strings.ToUpper(typed)
}

// inbound is one record from the terminal: the AID key and the fields it
// sent back, by the buffer address of their first character.
type inbound struct {
	aid    byte
	cursor int
	fields map[int][]byte
}

// parseInbound reads a read-modified record (GA23-0059 "Inbound data
// stream"): the AID, then for all but the short-read keys (Clear and the PA
// keys) the cursor address and, for each modified field, SBA, its address
// and its data.
func parseInbound(rec []byte) (inbound, error) {
	in := inbound{fields: map[int][]byte{}}
	if len(rec) == 0 {
		return in, errors.New("empty record")
	}
	in.aid = rec[0]
	switch in.aid {
	case aidClear, aidPA1, aidPA2, aidPA3:
		return in, nil // short read: the AID only
	}
	if len(rec) < 3 {
		return in, fmt.Errorf("record of %d bytes has no cursor address", len(rec))
	}
	in.cursor = decodeAddr(rec[1], rec[2])
	rest := rec[3:]
	for len(rest) > 0 {
		if rest[0] != orderSBA || len(rest) < 3 {
			return in, fmt.Errorf("field data without a buffer address at byte %d", len(rec)-len(rest))
		}
		addr := decodeAddr(rest[1], rest[2])
		rest = rest[3:]
		end := bytes.IndexByte(rest, orderSBA)
		if end < 0 {
			end = len(rest)
		}
		in.fields[addr] = rest[:end]
		rest = rest[end:]
	}
	return in, nil
}

// telnet reads the client's side of a telnet connection: option commands,
// subnegotiations and data records, with IAC IAC unescaped.
type telnet struct {
	r *bufio.Reader
	w io.Writer
}

// tnEvent is one thing the client sent.
type tnEvent struct {
	cmd    byte   // tnWILL, tnWONT, tnDO, tnDONT, tnSB, or tnEOR for a record
	opt    byte   // the option, for commands and subnegotiations
	data   []byte // the subnegotiation's bytes after the option, or the record
	record bool
}

func (t *telnet) send(b ...byte) error { _, err := t.w.Write(b); return err }

// sendRecord sends a 3270 data stream, IAC doubled, ended by IAC EOR.
func (t *telnet) sendRecord(data []byte) error {
	out := bytes.ReplaceAll(data, []byte{tnIAC}, []byte{tnIAC, tnIAC})
	out = append(out, tnIAC, tnEOR)
	_, err := t.w.Write(out)
	return err
}

// next returns the next command, subnegotiation or complete record. Data
// bytes before the negotiation is done accumulate like record bytes.
func (t *telnet) next(rec *[]byte) (tnEvent, error) {
	for {
		c, err := t.r.ReadByte()
		if err != nil {
			return tnEvent{}, err
		}
		if c != tnIAC {
			if len(*rec) >= tnMaxRecord {
				return tnEvent{}, fmt.Errorf("record longer than %d bytes", tnMaxRecord)
			}
			*rec = append(*rec, c)
			continue
		}
		c, err = t.r.ReadByte()
		if err != nil {
			return tnEvent{}, err
		}
		switch c {
		case tnIAC:
			*rec = append(*rec, tnIAC)
		case tnEOR:
			data := *rec
			*rec = nil
			return tnEvent{cmd: tnEOR, data: data, record: true}, nil
		case tnWILL, tnWONT, tnDO, tnDONT:
			opt, err := t.r.ReadByte()
			if err != nil {
				return tnEvent{}, err
			}
			return tnEvent{cmd: c, opt: opt}, nil
		case tnSB:
			sub, err := t.readSub()
			if err != nil {
				return tnEvent{}, err
			}
			if len(sub) == 0 {
				return tnEvent{}, errors.New("empty subnegotiation")
			}
			return tnEvent{cmd: tnSB, opt: sub[0], data: sub[1:]}, nil
		default:
			// NOP, GA, AYT and the rest carry nothing a 3270 host needs.
		}
	}
}

// readSub reads a subnegotiation up to IAC SE.
func (t *telnet) readSub() ([]byte, error) {
	var sub []byte
	for {
		c, err := t.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if c == tnIAC {
			if c, err = t.r.ReadByte(); err != nil {
				return nil, err
			}
			if c == tnSE {
				return sub, nil
			}
		}
		if len(sub) >= tnMaxSub {
			return nil, fmt.Errorf("subnegotiation longer than %d bytes", tnMaxSub)
		}
		sub = append(sub, c)
	}
}

// negotiate runs the RFC 1576 sequence and returns the terminal type. Each
// option the host asks for must be agreed; a request of the client's for
// anything else (TN3270E, NAWS, ...) is refused once, so no loop of
// answers can start (RFC 854: never acknowledge a mode already in effect).
func (t *telnet) negotiate() (string, error) {
	if err := t.send(tnIAC, tnDO, optTermType); err != nil {
		return "", err
	}
	var junk []byte
	// want lists the agreements still missing, keyed by the answer that
	// gives them.
	type ack struct{ cmd, opt byte }
	want := map[ack]string{{tnWILL, optTermType}: "WILL TERMINAL-TYPE"}
	termType := ""
	for len(want) > 0 || termType == "" {
		ev, err := t.next(&junk)
		if err != nil {
			return "", fmt.Errorf("telnet negotiation: %w", err)
		}
		if len(junk) > 0 {
			return "", errors.New("telnet negotiation: data before the negotiation ended")
		}
		switch ev.cmd {
		case tnWILL, tnDO:
			k := ack{ev.cmd, ev.opt}
			if _, ok := want[k]; ok {
				delete(want, k)
				if k == (ack{tnWILL, optTermType}) {
					if err := t.send(tnIAC, tnSB, optTermType, ttSEND, tnIAC, tnSE); err != nil {
						return "", err
					}
				}
				continue
			}
			refuse := byte(tnDONT)
			if ev.cmd == tnDO {
				refuse = tnWONT
			}
			if err := t.send(tnIAC, refuse, ev.opt); err != nil {
				return "", err
			}
		case tnWONT, tnDONT:
			for k, name := range want {
				if k.opt == ev.opt {
					return "", fmt.Errorf("telnet negotiation: the client refused %s; it is not a TN3270 client", name)
				}
			}
		case tnSB:
			if ev.opt != optTermType || len(ev.data) < 1 || ev.data[0] != ttIS {
				continue
			}
			if termType != "" {
				continue
			}
			termType = string(ev.data[1:])
			if !strings.HasPrefix(termType, "IBM-327") {
				return "", fmt.Errorf("telnet negotiation: terminal type %q is not a 3270", termType)
			}
			// Binary and end-of-record, both ways (RFC 1576 section 2).
			if err := t.send(tnIAC, tnDO, optEOR, tnIAC, tnWILL, optEOR, tnIAC, tnDO, optBinary, tnIAC, tnWILL, optBinary); err != nil {
				return "", err
			}
			want[ack{tnWILL, optEOR}] = "WILL EOR"
			want[ack{tnDO, optEOR}] = "DO EOR"
			want[ack{tnWILL, optBinary}] = "WILL BINARY"
			want[ack{tnDO, optBinary}] = "DO BINARY"
		}
	}
	return termType, nil
}

// serveTN3270 runs one TN3270 session on c: negotiation, the screen, and
// an answer for each Enter until PF3 or the client leaves.
func serveTN3270(c net.Conn) error {
	t := &telnet{r: bufio.NewReader(c), w: c}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := t.negotiate(); err != nil {
		return err
	}
	if err := t.sendRecord(demoScreen("")); err != nil {
		return err
	}
	var rec []byte
	for {
		c.SetDeadline(time.Now().Add(tnIdle))
		ev, err := t.next(&rec)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if !ev.record {
			continue // late option traffic; the agreement stands
		}
		in, err := parseInbound(ev.data)
		if err != nil {
			return fmt.Errorf("tn3270: %w", err)
		}
		var answer string
		switch in.aid {
		case aidPF3:
			t.sendRecord(goodbyeScreen())
			return nil
		case aidEnter:
			// The field's data starts one position after its attribute.
			answer = Answer(strings.TrimSpace(fromEBCDIC(in.fields[inputRow*screenCols+inputCol+1])))
		case aidClear:
		default:
			answer = "Host: that key does nothing here; press Enter to send, PF3 to end."
		}
		if err := t.sendRecord(demoScreen(answer)); err != nil {
			return err
		}
	}
}
