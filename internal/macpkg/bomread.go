package macpkg

import (
	"encoding/binary"
	"fmt"
	"path"
	"strings"
)

// bomPath is one path as lsbom would list it, read back from a Bom by
// readBom, which follows docs/macos.md ("The Bom") and trusts nothing
// the writer meant: every offset and length is checked.
type bomPath struct {
	Path       string
	Kind       uint8
	Mode       uint16
	UID, GID   uint32
	Size, Sum  uint32
	Link       string
	Slices     int // Mach-O slices recorded
	BinaryType uint16
}

type bomFile struct {
	data   []byte
	blocks [][2]uint32
	vars   map[string]uint32
}

func (f *bomFile) block(i uint32) ([]byte, error) {
	if i == 0 || int(i) >= len(f.blocks) {
		return nil, fmt.Errorf("block %d out of range", i)
	}
	off, n := f.blocks[i][0], f.blocks[i][1]
	if uint64(off)+uint64(n) > uint64(len(f.data)) {
		return nil, fmt.Errorf("block %d past the end", i)
	}
	return f.data[off : off+n], nil
}

func u32(b []byte, at int) (uint32, error) {
	if at < 0 || at+4 > len(b) {
		return 0, fmt.Errorf("short block reading offset %d of %d", at, len(b))
	}
	return binary.BigEndian.Uint32(b[at:]), nil
}

func openBom(data []byte) (*bomFile, error) {
	if len(data) < bomHeaderSize || string(data[:8]) != "BOMStore" {
		return nil, fmt.Errorf("not a BOMStore")
	}
	be := binary.BigEndian
	if be.Uint32(data[8:]) != 1 {
		return nil, fmt.Errorf("version %d", be.Uint32(data[8:]))
	}
	nonNull := be.Uint32(data[12:])
	idxOff, idxLen := be.Uint32(data[16:]), be.Uint32(data[20:])
	varOff, varLen := be.Uint32(data[24:]), be.Uint32(data[28:])
	if uint64(idxOff)+uint64(idxLen) != uint64(len(data)) {
		return nil, fmt.Errorf("block table %d+%d does not end the file (%d)", idxOff, idxLen, len(data))
	}
	idx := data[idxOff:]
	n, _ := u32(idx, 0)
	if uint64(4+8*n+4) > uint64(len(idx)) {
		return nil, fmt.Errorf("block table of %d entries longer than its %d bytes", n, len(idx))
	}
	f := &bomFile{data: data, vars: map[string]uint32{}}
	used := uint32(0)
	for i := uint32(0); i < n; i++ {
		a, l := be.Uint32(idx[4+8*i:]), be.Uint32(idx[8+8*i:])
		if i == 0 && (a != 0 || l != 0) {
			return nil, fmt.Errorf("block 0 is not the null block")
		}
		if a != 0 {
			used++
			if a < bomHeaderSize {
				return nil, fmt.Errorf("block %d inside the header", i)
			}
		}
		f.blocks = append(f.blocks, [2]uint32{a, l})
	}
	if used != nonNull {
		return nil, fmt.Errorf("header counts %d blocks, table has %d", nonNull, used)
	}
	if free := be.Uint32(idx[4+8*n:]); 4+8*n+4+8*free != idxLen {
		return nil, fmt.Errorf("free list of %d does not fill the block table's length", free)
	}
	if uint64(varOff)+uint64(varLen) > uint64(len(data)) {
		return nil, fmt.Errorf("variables past the end")
	}
	vars := data[varOff : varOff+varLen]
	cnt, err := u32(vars, 0)
	if err != nil {
		return nil, err
	}
	at := 4
	for range cnt {
		i, err := u32(vars, at)
		if err != nil || at+5 > len(vars) {
			return nil, fmt.Errorf("variables truncated")
		}
		l := int(vars[at+4])
		if at+5+l > len(vars) {
			return nil, fmt.Errorf("variable name truncated")
		}
		f.vars[string(vars[at+5:at+5+l])] = i
		at += 5 + l
	}
	if at != len(vars) {
		return nil, fmt.Errorf("%d bytes after the variables", len(vars)-at)
	}
	return f, nil
}

// treePairs reads a tree variable's key/value pairs, walking from the
// root down to the first data node and then along the data nodes' links.
func (f *bomFile) treePairs(treeIndex uint32) (pairs [][2]uint32, blockSize uint32, err error) {
	t, err := f.block(treeIndex)
	if err != nil {
		return nil, 0, err
	}
	if len(t) != 21 || string(t[:4]) != "tree" {
		return nil, 0, fmt.Errorf("block %d is not a tree", treeIndex)
	}
	root, _ := u32(t, 8)
	blockSize, _ = u32(t, 12)
	count, _ := u32(t, 16)
	node := root
	for depth := 0; ; depth++ {
		b, err := f.block(node)
		if err != nil {
			return nil, 0, err
		}
		if len(b) != int(blockSize) {
			return nil, 0, fmt.Errorf("node %d is %d bytes, the tree's block size %d", node, len(b), blockSize)
		}
		if binary.BigEndian.Uint16(b) == 1 {
			break
		}
		if depth > 8 {
			return nil, 0, fmt.Errorf("tree too deep")
		}
		node, _ = u32(b, 12)
	}
	prev := uint32(0)
	for seen := 0; node != 0; seen++ {
		if seen > len(f.blocks) {
			return nil, 0, fmt.Errorf("data nodes in a loop")
		}
		b, _ := f.block(node)
		n := int(binary.BigEndian.Uint16(b[2:]))
		next, _ := u32(b, 4)
		back, _ := u32(b, 8)
		if back != prev {
			return nil, 0, fmt.Errorf("node %d links back to %d, not %d", node, back, prev)
		}
		if 12+8*n > len(b) {
			return nil, 0, fmt.Errorf("node %d overflows", node)
		}
		for i := 0; i < n; i++ {
			k, _ := u32(b, 12+8*i)
			v, _ := u32(b, 16+8*i)
			pairs = append(pairs, [2]uint32{k, v})
		}
		prev, node = node, next
	}
	if len(pairs) != int(count) {
		return nil, 0, fmt.Errorf("tree says %d entries, nodes hold %d", count, len(pairs))
	}
	return pairs, blockSize, nil
}

// readBom lists a Bom's paths, as lsbom does.
func readBom(data []byte) ([]bomPath, *bomFile, error) {
	f, err := openBom(data)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range []string{"BomInfo", "Paths", "HLIndex", "VIndex", "Size64"} {
		if _, ok := f.vars[v]; !ok {
			return nil, nil, fmt.Errorf("no %s variable", v)
		}
	}
	pairs, bs, err := f.treePairs(f.vars["Paths"])
	if err != nil {
		return nil, nil, fmt.Errorf("Paths: %w", err)
	}
	if bs != pathsNodeSize {
		return nil, nil, fmt.Errorf("Paths block size %d", bs)
	}
	names := map[uint32]string{}
	var out []bomPath
	for _, p := range pairs {
		k, err := f.block(p[0])
		if err != nil || len(k) != 8 {
			return nil, nil, fmt.Errorf("path key: %v", err)
		}
		id, _ := u32(k, 0)
		metaIdx, _ := u32(k, 4)
		v, err := f.block(p[1])
		if err != nil || len(v) < 6 || v[len(v)-1] != 0 {
			return nil, nil, fmt.Errorf("path value of %d: %v", id, err)
		}
		parent, _ := u32(v, 0)
		name := string(v[4 : len(v)-1])
		full := name
		if parent != 0 {
			pn, ok := names[parent]
			if !ok {
				return nil, nil, fmt.Errorf("path %d (%s): parent %d not seen before", id, name, parent)
			}
			full = pn + "/" + name
		}
		if _, dup := names[id]; dup {
			return nil, nil, fmt.Errorf("id %d twice", id)
		}
		names[id] = full
		m, err := f.block(metaIdx)
		if err != nil {
			return nil, nil, err
		}
		bp, err := readMeta(m)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", full, err)
		}
		bp.Path = full
		out = append(out, bp)
	}
	return out, f, nil
}

func readMeta(m []byte) (bomPath, error) {
	var p bomPath
	if len(m) < 22+8 {
		return p, fmt.Errorf("metadata of %d bytes", len(m))
	}
	be := binary.BigEndian
	p.Kind = m[0]
	flags := be.Uint16(m[2:])
	if m[1] != 1 || flags&0xf != 0xf {
		return p, fmt.Errorf("metadata header %x", m[:4])
	}
	p.BinaryType = flags >> 12
	p.Mode, p.UID, p.GID = be.Uint16(m[4:]), be.Uint32(m[6:]), be.Uint32(m[10:])
	p.Size = be.Uint32(m[18:])
	if m[22] != 1 {
		return p, fmt.Errorf("byte 22 is %d", m[22])
	}
	rest := m[23:]
	switch p.Kind {
	case 2:
	case 1:
		if len(rest) < 4 {
			return p, fmt.Errorf("short file metadata")
		}
		p.Sum = be.Uint32(rest)
		rest = rest[4:]
		if p.BinaryType != 0 {
			if len(rest) < 5 || rest[0] != 1 {
				return p, fmt.Errorf("bad executable metadata")
			}
			p.Slices = int(be.Uint32(rest[1:]))
			rest = rest[5:]
			if len(rest) < 16*p.Slices {
				return p, fmt.Errorf("short slice list")
			}
			rest = rest[16*p.Slices:]
		}
	case 3:
		if len(rest) < 8 {
			return p, fmt.Errorf("short link metadata")
		}
		p.Sum = be.Uint32(rest)
		n := int(be.Uint32(rest[4:]))
		if n < 1 || 8+n > len(rest) || rest[8+n-1] != 0 {
			return p, fmt.Errorf("bad link target")
		}
		p.Link = string(rest[8 : 8+n-1])
		rest = rest[8+n:]
	default:
		return p, fmt.Errorf("kind %d", p.Kind)
	}
	if len(rest) != 8 || strings.Trim(string(rest), "\x00") != "" {
		return p, fmt.Errorf("metadata does not end with 8 zero bytes: %x", rest)
	}
	return p, nil
}

// String formats p as lsbom -p fMUGsc would, roughly: for messages.
func (p bomPath) String() string {
	return fmt.Sprintf("%s %o %d/%d %d %d %s", path.Clean(p.Path), p.Mode, p.UID, p.GID, p.Size, p.Sum, p.Link)
}
