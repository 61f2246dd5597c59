package macpkg

// cksum returns the checksum of POSIX cksum(1) (and of macOS's cksum and
// lsbom): a CRC-32 with the polynomial 0x04C11DB7, most significant bit
// first, over the data and then its length (least significant byte first,
// only as many bytes as the length needs), complemented. It is not the
// CRC-32 of hash/crc32, which is bit-reflected.
func cksum(data []byte) uint32 {
	var crc uint32
	add := func(b byte) {
		crc ^= uint32(b) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	for _, b := range data {
		add(b)
	}
	for n := len(data); n > 0; n >>= 8 {
		add(byte(n))
	}
	return ^crc
}
