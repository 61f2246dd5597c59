// peversion prints the Windows resources of a PE file that the MSI install
// test checks (scripts/test-msi.sh): the fixed file and product versions
// and the strings of the version resource, whether an icon group is there,
// and the application manifest's settings. Nothing on Linux reads these
// (Wine has no PowerShell), so it parses the .rsrc section with debug/pe.
//
//	go run ./packaging/windows/peversion trustlaunch.exe
//
// Output, one "name=value" per line:
//
//	fixed.FileVersion=1.4.2.0
//	fixed.ProductVersion=1.4.2.0
//	string.ProductName=trustlaunch      (every string of the table)
//	icon.groups=1
//	manifest.asInvoker=true
//	manifest.activeCodePage=UTF-8
//	manifest.longPathAware=true
package main

import (
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"unicode/utf16"
)

const (
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./packaging/windows/peversion FILE.exe")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "peversion: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(path string) error {
	f, err := pe.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sec := f.Section(".rsrc")
	if sec == nil {
		return errors.New("no .rsrc section: the binary has no resources")
	}
	data, err := sec.Data()
	if err != nil {
		return err
	}
	r := rsrc{data: data, va: sec.VirtualAddress}
	types, err := r.dir(0)
	if err != nil {
		return err
	}
	leaves := map[uint32][][]byte{}
	for _, t := range types {
		if !t.isDir {
			continue
		}
		if err := r.collect(t.off, func(b []byte) { leaves[t.id] = append(leaves[t.id], b) }); err != nil {
			return err
		}
	}
	if len(leaves[rtVersion]) == 0 {
		return errors.New("no version resource (RT_VERSION)")
	}
	if err := printVersion(leaves[rtVersion][0]); err != nil {
		return fmt.Errorf("version resource: %w", err)
	}
	fmt.Printf("icon.groups=%d\n", len(leaves[rtGroupIcon]))
	if len(leaves[rtManifest]) > 0 {
		m := string(leaves[rtManifest][0])
		fmt.Printf("manifest.asInvoker=%v\n", regexp.MustCompile(`requestedExecutionLevel\s+level="asInvoker"`).MatchString(m))
		if s := regexp.MustCompile(`<activeCodePage[^>]*>([^<]*)<`).FindStringSubmatch(m); s != nil {
			fmt.Printf("manifest.activeCodePage=%s\n", s[1])
		}
		if s := regexp.MustCompile(`<longPathAware[^>]*>([^<]*)<`).FindStringSubmatch(m); s != nil {
			fmt.Printf("manifest.longPathAware=%s\n", s[1])
		}
	}
	return nil
}

// rsrc reads an IMAGE_RESOURCE_DIRECTORY tree; offsets are from the start
// of the section, data entries hold RVAs.
type rsrc struct {
	data []byte
	va   uint32
}

type entry struct {
	id    uint32 // integer id (named entries get 0xffffffff)
	isDir bool
	off   uint32
}

func (r rsrc) u32(off uint32) (uint32, error) {
	if uint64(off)+4 > uint64(len(r.data)) {
		return 0, errors.New("resource directory out of bounds")
	}
	return binary.LittleEndian.Uint32(r.data[off:]), nil
}

func (r rsrc) dir(off uint32) ([]entry, error) {
	if uint64(off)+16 > uint64(len(r.data)) {
		return nil, errors.New("resource directory out of bounds")
	}
	n := uint32(binary.LittleEndian.Uint16(r.data[off+12:])) + uint32(binary.LittleEndian.Uint16(r.data[off+14:]))
	var es []entry
	for i := uint32(0); i < n; i++ {
		name, err := r.u32(off + 16 + 8*i)
		if err != nil {
			return nil, err
		}
		target, err := r.u32(off + 20 + 8*i)
		if err != nil {
			return nil, err
		}
		e := entry{id: name, isDir: target&0x80000000 != 0, off: target &^ 0x80000000}
		if name&0x80000000 != 0 {
			e.id = 0xffffffff
		}
		es = append(es, e)
	}
	return es, nil
}

// collect calls fn with the data of every leaf below the directory at off.
func (r rsrc) collect(off uint32, fn func([]byte)) error {
	es, err := r.dir(off)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.isDir {
			if err := r.collect(e.off, fn); err != nil {
				return err
			}
			continue
		}
		rva, err := r.u32(e.off)
		if err != nil {
			return err
		}
		size, err := r.u32(e.off + 4)
		if err != nil {
			return err
		}
		start := uint64(rva) - uint64(r.va)
		if rva < r.va || start+uint64(size) > uint64(len(r.data)) {
			return errors.New("resource data outside .rsrc")
		}
		fn(r.data[start : start+uint64(size)])
	}
	return nil
}

// node is one VS_VERSIONINFO-style block: wLength, wValueLength, wType,
// szKey (UTF-16, NUL-terminated), padding to 32 bits, Value, padding,
// Children.
type node struct {
	key      string
	value    []byte
	text     bool
	children []node
}

func parseNode(b []byte) (node, int, error) {
	if len(b) < 6 {
		return node{}, 0, errors.New("truncated block")
	}
	length := int(binary.LittleEndian.Uint16(b))
	valueLen := int(binary.LittleEndian.Uint16(b[2:]))
	text := binary.LittleEndian.Uint16(b[4:]) == 1
	if length < 6 || length > len(b) {
		return node{}, 0, fmt.Errorf("block length %d of %d bytes", length, len(b))
	}
	b = b[:length]
	i := 6
	var key []uint16
	for ; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			i += 2
			break
		}
		key = append(key, c)
	}
	n := node{key: string(utf16.Decode(key)), text: text}
	i = align4(i)
	if text {
		valueLen *= 2 // counted in WCHARs
	}
	if i+valueLen > len(b) {
		valueLen = len(b) - i
	}
	if valueLen > 0 {
		n.value = b[i : i+valueLen]
	}
	i = align4(i + valueLen)
	for i < len(b) {
		c, used, err := parseNode(b[i:])
		if err != nil {
			return node{}, 0, err
		}
		n.children = append(n.children, c)
		i = align4(i + used)
	}
	return n, length, nil
}

func align4(i int) int { return (i + 3) &^ 3 }

func printVersion(b []byte) error {
	root, _, err := parseNode(b)
	if err != nil {
		return err
	}
	if root.key != "VS_VERSION_INFO" || len(root.value) < 52 || binary.LittleEndian.Uint32(root.value) != 0xFEEF04BD {
		return errors.New("no VS_FIXEDFILEINFO")
	}
	v := func(off int) string {
		ms := binary.LittleEndian.Uint32(root.value[off:])
		ls := binary.LittleEndian.Uint32(root.value[off+4:])
		return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff)
	}
	fmt.Printf("fixed.FileVersion=%s\n", v(8))
	fmt.Printf("fixed.ProductVersion=%s\n", v(16))
	strs := map[string]string{}
	for _, c := range root.children {
		if c.key != "StringFileInfo" {
			continue
		}
		for _, table := range c.children {
			for _, s := range table.children {
				u := make([]uint16, len(s.value)/2)
				for i := range u {
					u[i] = binary.LittleEndian.Uint16(s.value[2*i:])
				}
				strs[s.key] = strings.TrimRight(string(utf16.Decode(u)), "\x00")
			}
		}
	}
	keys := make([]string, 0, len(strs))
	for k := range strs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("string.%s=%s\n", k, strs[k])
	}
	return nil
}
