package macpkg

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// The Bom ("bill of materials") of a component package lists every path of
// its payload with its type, mode, owner, size and checksum; installer
// records it as the receipt that pkgutil --files and lsbom read. Apple has
// not published the format; docs/macos.md ("The Bom") describes it as this
// writer writes it. All integers are big-endian.

const (
	bomHeaderSize = 512
	// pathsNodeSize is the block size of the Paths tree: each of its nodes
	// is a block of this size, as Apple's mkbom writes it.
	pathsNodeSize = 4096
	// smallNodeSize is the block size of the other, empty, trees.
	smallNodeSize = 128
)

// Binary types of a path's flags (the high four bits; the low four are
// 0xf in a Bom that records metadata, 0 in a paths-only one).
const (
	binaryNone = 0
	binaryExe  = 1
	binaryFat  = 2
)

// bomWriter collects blocks; block 0 is the null block.
type bomWriter struct {
	blocks [][]byte
}

func (b *bomWriter) add(data []byte) uint32 {
	b.blocks = append(b.blocks, data)
	return uint32(len(b.blocks) - 1)
}

type be struct{ bytes.Buffer }

func (w *be) u8(v uint8)   { w.WriteByte(v) }
func (w *be) u16(v uint16) { _ = binary.Write(w, binary.BigEndian, v) }
func (w *be) u32(v uint32) { _ = binary.Write(w, binary.BigEndian, v) }

// tree adds a tree header whose root node is root, and returns its index.
func (b *bomWriter) tree(root uint32, blockSize, entries uint32) uint32 {
	var w be
	w.WriteString("tree")
	w.u32(1)
	w.u32(root)
	w.u32(blockSize)
	w.u32(entries)
	w.u8(0)
	return b.add(w.Bytes())
}

// node adds a tree node of size bytes: isLeaf 1 for a data node (key,
// value pairs), 0 for a meta node (data node, its last value).
func (b *bomWriter) node(isLeaf bool, pairs [][2]uint32, next, prev uint32, size int) uint32 {
	var w be
	if isLeaf {
		w.u16(1)
	} else {
		w.u16(0)
	}
	w.u16(uint16(len(pairs)))
	w.u32(next)
	w.u32(prev)
	for _, p := range pairs {
		w.u32(p[0])
		w.u32(p[1])
	}
	data := make([]byte, max(size, w.Len()))
	copy(data, w.Bytes())
	return b.add(data)
}

// emptyTree adds a tree with no entry: its header and one empty data node.
func (b *bomWriter) emptyTree(blockSize int) uint32 {
	return b.tree(b.node(true, nil, 0, 0, blockSize), uint32(blockSize), 0)
}

// perNode is how many entries a Paths data node holds: the 12-byte node
// header and 8 bytes per entry in pathsNodeSize.
const perNode = (pathsNodeSize - 12) / 8

// WriteBom writes the Bom of t.
func WriteBom(w io.Writer, t *Tree) error { return writeBom(w, t, perNode) }

func writeBom(w io.Writer, t *Tree, nodeCap int) error {
	if err := t.check(); err != nil {
		return err
	}
	b := &bomWriter{blocks: [][]byte{nil}}
	paths, totals, err := b.pathsTree(t, nodeCap)
	if err != nil {
		return err
	}
	bomInfo := b.bomInfo(len(t.Entries), totals)
	hlIndex := b.emptyTree(pathsNodeSize)
	size64 := b.emptyTree(smallNodeSize)
	var vi be
	vi.u32(1)
	vi.u32(b.emptyTree(smallNodeSize))
	vi.u32(0)
	vi.u8(1) // an empty tree
	vIndex := b.add(vi.Bytes())
	return b.write(w, []bomVar{{"BomInfo", bomInfo}, {"Paths", paths}, {"HLIndex", hlIndex}, {"VIndex", vIndex}, {"Size64", size64}})
}

// pathsTree adds the Paths tree of t and returns its index and what each
// CPU type's files add up to, for BomInfo. One key/value pair per path, in
// t's (breadth-first) order: the key is {id, block of the metadata}, the
// value {parent's id, name}. The pairs go into data nodes of at most
// nodeCap, linked both ways; with more than one, a meta node above them
// names each with its last value.
func (b *bomWriter) pathsTree(t *Tree, nodeCap int) (uint32, []cpuSize, error) {
	ids := map[string]uint32{}
	var totals []cpuSize
	var pairs [][2]uint32
	for i, e := range t.Entries {
		id := uint32(i + 1)
		ids[e.Path] = id
		meta, cpus, err := pathMetadata(e, t)
		if err != nil {
			return 0, nil, err
		}
		totals = addTotals(totals, cpus)
		var k be
		k.u32(id)
		k.u32(b.add(meta))
		var v be
		parent := uint32(0)
		if e.Path != "." {
			parent = ids[path.Dir(e.Path)]
		}
		v.u32(parent)
		v.WriteString(path.Base(e.Path))
		v.u8(0)
		pairs = append(pairs, [2]uint32{b.add(k.Bytes()), b.add(v.Bytes())})
	}
	var leaves []uint32
	for start := 0; ; start += nodeCap {
		end := min(start+nodeCap, len(pairs))
		leaves = append(leaves, b.node(true, pairs[start:end], 0, 0, pathsNodeSize))
		if end == len(pairs) {
			break
		}
	}
	for i, l := range leaves {
		if i+1 < len(leaves) {
			binary.BigEndian.PutUint32(b.blocks[l][4:], leaves[i+1])
		}
		if i > 0 {
			binary.BigEndian.PutUint32(b.blocks[l][8:], leaves[i-1])
		}
	}
	root := leaves[0]
	if len(leaves) > 1 {
		if len(leaves) > nodeCap {
			return 0, nil, fmt.Errorf("bom: %d paths need more than two tree levels", len(pairs))
		}
		var meta [][2]uint32
		for i, l := range leaves {
			last := min((i+1)*nodeCap, len(pairs)) - 1
			meta = append(meta, [2]uint32{l, pairs[last][1]})
		}
		root = b.node(false, meta, 0, 0, pathsNodeSize)
	}
	return b.tree(root, pathsNodeSize, uint32(len(pairs))), totals, nil
}

func addTotals(totals, add []cpuSize) []cpuSize {
next:
	for _, a := range add {
		for i := range totals {
			if totals[i].cpu == a.cpu {
				totals[i].size += a.size
				continue next
			}
		}
		totals = append(totals, a)
	}
	return totals
}

// bomInfo adds BomInfo: version 1, the number of paths, then per CPU type
// (0 for what is not a Mach-O slice) {type, 0, total size, 0}.
func (b *bomWriter) bomInfo(paths int, totals []cpuSize) uint32 {
	var info be
	info.u32(1)
	info.u32(uint32(paths))
	info.u32(uint32(len(totals)))
	for _, a := range totals {
		info.u32(a.cpu)
		info.u32(0)
		info.u32(a.size)
		info.u32(0)
	}
	return b.add(info.Bytes())
}

type bomVar struct {
	name  string
	index uint32
}

// write lays the file out: the 512-byte header, the blocks in order, the
// variables, and at the end the block table (with the null block first)
// followed by an empty free list.
func (b *bomWriter) write(w io.Writer, vars []bomVar) error {
	var vs be
	vs.u32(uint32(len(vars)))
	for _, v := range vars {
		vs.u32(v.index)
		vs.u8(uint8(len(v.name)))
		vs.WriteString(v.name)
	}
	var body be
	offsets := make([]uint32, len(b.blocks))
	pos := uint32(bomHeaderSize)
	for i, blk := range b.blocks[1:] {
		offsets[i+1] = pos
		body.Write(blk)
		pos += uint32(len(blk))
	}
	varsOffset := pos
	body.Write(vs.Bytes())
	pos += uint32(vs.Len())

	var index be
	index.u32(uint32(len(b.blocks)))
	for i, blk := range b.blocks {
		index.u32(offsets[i])
		index.u32(uint32(len(blk)))
	}
	index.u32(0) // the free list: empty

	var hdr be
	hdr.WriteString("BOMStore")
	hdr.u32(1)
	hdr.u32(uint32(len(b.blocks) - 1)) // blocks other than the null block
	hdr.u32(pos)
	hdr.u32(uint32(index.Len()))
	hdr.u32(varsOffset)
	hdr.u32(uint32(vs.Len()))
	header := make([]byte, bomHeaderSize)
	copy(header, hdr.Bytes())
	for _, part := range [][]byte{header, body.Bytes(), index.Bytes()} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

type cpuSize struct{ cpu, size uint32 }

// pathMetadata returns the metadata block of e, and what e adds to
// BomInfo's totals: each Mach-O slice's size under its CPU type, or the
// file's size under 0.
func pathMetadata(e Entry, t *Tree) ([]byte, []cpuSize, error) {
	var w be
	mtime := uint32(max(t.ModTime.Unix(), 0))
	common := func(kind uint8, binType uint16, size uint32) {
		w.u8(kind)
		w.u8(1)
		w.u16(binType<<12 | 0xf)
		w.u16(uint16(e.unixMode()))
		w.u32(t.UID)
		w.u32(t.GID)
		w.u32(mtime)
		w.u32(size)
		w.u8(1)
	}
	var cpus []cpuSize
	switch {
	case e.Mode.IsDir():
		common(2, binaryNone, 0)
		cpus = append(cpus, cpuSize{0, 0})
	case e.Mode&fs.ModeSymlink != 0:
		common(3, binaryNone, uint32(len(e.Link)))
		w.u32(cksum([]byte(e.Link)))
		w.u32(uint32(len(e.Link) + 1))
		w.WriteString(e.Link)
		w.u8(0)
		cpus = append(cpus, cpuSize{0, uint32(len(e.Link))})
	default:
		if len(e.Data) > 1<<32-1 {
			return nil, nil, fmt.Errorf("bom: %s: 4 GiB or more (Size64 is not written)", e.Path)
		}
		slices := machoSlices(e.Data)
		if slices == nil {
			common(1, binaryNone, uint32(len(e.Data)))
			w.u32(cksum(e.Data))
			cpus = append(cpus, cpuSize{0, uint32(len(e.Data))})
			break
		}
		bt := uint16(binaryExe)
		if len(slices) > 1 || isFat(e.Data) {
			bt = binaryFat
		}
		common(1, bt, uint32(len(e.Data)))
		w.u32(cksum(e.Data))
		w.u8(1)
		w.u32(uint32(len(slices)))
		for _, s := range slices {
			w.u32(s.cpu)
			w.u32(s.subcpu)
			w.u32(uint32(len(s.data)))
			w.u32(cksum(s.data))
			cpus = append(cpus, cpuSize{s.cpu, uint32(len(s.data))})
		}
	}
	w.Write(make([]byte, 8))
	return w.Bytes(), cpus, nil
}

type machoSlice struct {
	cpu, subcpu uint32
	data        []byte
}

func isFat(data []byte) bool {
	return len(data) >= 4 && binary.BigEndian.Uint32(data) == macho.MagicFat
}

// machoSlices returns the Mach-O slices of data, or nil when data is not a
// Mach-O file.
func machoSlices(data []byte) []machoSlice {
	r := bytes.NewReader(data)
	if isFat(data) {
		f, err := macho.NewFatFile(r)
		if err != nil {
			return nil
		}
		var out []machoSlice
		for _, a := range f.Arches {
			out = append(out, machoSlice{uint32(a.Cpu), a.SubCpu, data[a.Offset : a.Offset+a.Size]})
		}
		return out
	}
	f, err := macho.NewFile(r)
	if err != nil {
		return nil
	}
	return []machoSlice{{uint32(f.Cpu), f.SubCpu, data}}
}
