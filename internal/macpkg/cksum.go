package macpkg

// cksum returns the checksum of POSIX cksum(1) (and of macOS's cksum and
// lsbom): a CRC-32 with the polynomial 0x04C11DB7, most significant bit
// first, over the data and then its length (least significant byte first,
// only as many bytes as the length needs), complemented. It is not the
// CRC-32 of hash/crc32, which is bit-reflected.
func cksum(data []byte) uint32 {
	var crc uint32
	for _, b := range data {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^b]
	}
	for n := len(data); n > 0; n >>= 8 {
		crc = crc<<8 ^ cksumTable[byte(crc>>24)^byte(n)]
	}
	return ^crc
}

// cksumTable[i] is the CRC of the byte i alone, shifted through the top.
var cksumTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()
