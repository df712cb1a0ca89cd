package password

// Argon2id (RFC 9106, version 0x13), written from the specification so that
// the memory it fills — the block array B — is supplied by the caller. A
// Hasher keeps one buffer per hashing slot and reuses it for every hash run
// in that slot, instead of allocating (and zeroing, and page-faulting) a
// fresh 19 MiB array per hash as golang.org/x/crypto/argon2 does, memory the
// Go runtime then keeps long after the flood of sign-ins that needed it.
//
// Section numbers below refer to RFC 9106.

import (
	"encoding/binary"
	"math/bits"
	"runtime"

	"golang.org/x/crypto/blake2b"
)

const (
	argon2Version = 0x13 // v, §3.1
	argon2idType  = 2    // y for Argon2id, §3.1
	syncPoints    = 4    // SL, the number of slices, §3.2
	blockWords    = 128  // a 1024-byte block as 64-bit little-endian words
)

// block is one 1024-byte memory block, as 128 little-endian 64-bit words.
type block [blockWords]uint64

// buffer is the memory of one hashing slot: the block array of the last
// hash it ran, kept for the next. It is not safe for concurrent use; a
// Hasher hands each buffer to one hash at a time.
type buffer struct {
	size   int     // blocks to keep: allocated on first use, at this size
	blocks []block // nil until first use
}

// newBuffer returns a buffer that will keep the blocks of any hash needing
// at most memory KiB (one block per KiB) with threads lanes. It allocates
// nothing until its first use, so idle slots cost no memory.
func newBuffer(memory uint32, threads uint8) *buffer {
	return &buffer{size: int(max(memory, 8*uint32(threads)))}
}

// get returns n blocks with arbitrary contents: those kept from earlier
// hashes when n fits the buffer, otherwise a one-off array for this call
// (a stored hash with more memory than the Hasher's parameters).
func (b *buffer) get(n int) []block {
	if b == nil || n > b.size {
		return make([]block, n)
	}
	if b.blocks == nil {
		b.blocks = allocBlocks(b.size)
	}
	return b.blocks[:n]
}

// idKey derives a keyLen-byte Argon2id tag from password and salt with the
// optional secret K and associated data X (§3.1), filling memory from buf.
// Like x/crypto's argon2.IDKey it fills at least 8 blocks per lane when
// memory is below the spec's minimum of 8 KiB per lane (hashing the memory
// parameter as given into H_0), and panics when time or threads is zero.
func idKey(buf *buffer, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("password: argon2 time must be at least 1")
	}
	if threads < 1 {
		panic("password: argon2 parallelism must be at least 1")
	}
	lanes := uint32(threads)
	h0 := initialHash(password, salt, secret, data, time, memory, lanes, keyLen)

	// m' = 4 * p * floor(m / 4p) blocks, q = m' / p columns per lane (§3.2).
	q := max(memory, 2*syncPoints*lanes) / (syncPoints * lanes) * syncPoints
	mem := buf.get(int(q * lanes))

	// §3.2 steps 3 and 4: the first two blocks of each lane.
	var in [72]byte
	copy(in[:], h0[:])
	var b [1024]byte
	for lane := uint32(0); lane < lanes; lane++ {
		binary.LittleEndian.PutUint32(in[68:], lane)
		for j := uint32(0); j < 2; j++ {
			binary.LittleEndian.PutUint32(in[64:], j)
			hashPrime(b[:], in[:])
			blk := &mem[lane*q+j]
			for k := range blk {
				blk[k] = binary.LittleEndian.Uint64(b[8*k:])
			}
		}
	}

	// Every block of mem is written before it is read, so a buffer's
	// contents from an earlier hash never matter and need no zeroing. In
	// pass 0 each lane's blocks are written in order: B[i][0] and B[i][1]
	// above, then B[i][j] for j = 2..q-1 from B[i][j-1] (just written) and
	// a reference block B[l][z] drawn from the reference set of §3.4.2,
	// which in pass 0 holds only blocks already computed in this pass: in
	// the same lane, those before B[i][j-1]; in another lane, those of the
	// segments finished in earlier slices (§3.4.2, and no lane is read
	// from in slice 0). The XOR with the old B[i][j] (§3.2 step 6, v1.3)
	// applies only to later passes, when every block holds pass-0 data.
	f := filler{mem: mem, lanes: lanes, q: q, segLen: q / syncPoints, total: q * lanes, time: time}
	for pass := uint32(0); pass < time; pass++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			// The segments of one slice depend only on earlier
			// slices and their own lane (§3.4.2), so computing the
			// lanes one after another gives the same result as
			// computing them in parallel.
			for lane := uint32(0); lane < lanes; lane++ {
				f.segment(pass, slice, lane)
			}
		}
	}

	// §3.2 step 7: C is the XOR of the last column; the tag is H'^T(C).
	var c block
	for lane := uint32(0); lane < lanes; lane++ {
		last := &mem[lane*q+q-1]
		for k := range c {
			c[k] ^= last[k]
		}
	}
	for k, w := range c {
		binary.LittleEndian.PutUint64(b[8*k:], w)
	}
	tag := make([]byte, keyLen)
	hashPrime(tag, b[:])
	return tag
}

// initialHash is H_0 (§3.2 step 1).
func initialHash(password, salt, secret, data []byte, time, memory, lanes, keyLen uint32) [blake2b.Size]byte {
	h, _ := blake2b.New512(nil)
	var n [4]byte
	le32 := func(v uint32) {
		binary.LittleEndian.PutUint32(n[:], v)
		h.Write(n[:])
	}
	le32(lanes)
	le32(keyLen)
	le32(memory)
	le32(time)
	le32(argon2Version)
	le32(argon2idType)
	for _, s := range [][]byte{password, salt, secret, data} {
		le32(uint32(len(s)))
		h.Write(s)
	}
	var out [blake2b.Size]byte
	h.Sum(out[:0])
	return out
}

// hashPrime is the variable-length hash H' (§3.3): it fills out, of any
// length T from 1 up, from in.
func hashPrime(out, in []byte) {
	t := len(out)
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(t))
	if t <= blake2b.Size {
		h, _ := blake2b.New(t, nil)
		h.Write(n[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	// r = ceil(T/32) - 2 full 64-byte hashes V_1..V_r, each contributing
	// its first 32 bytes, then V_{r+1} of T - 32r bytes, all of it.
	r := (t+31)/32 - 2
	h, _ := blake2b.New512(nil)
	h.Write(n[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	copy(out, v[:32])
	for i := 1; i < r; i++ {
		v = blake2b.Sum512(v[:])
		copy(out[32*i:], v[:32])
	}
	last, _ := blake2b.New(t-32*r, nil)
	last.Write(v[:])
	last.Sum(out[32*r : 32*r])
}

// filler computes the segments of one hash's memory.
type filler struct {
	mem    []block
	lanes  uint32 // p
	q      uint32 // columns (blocks) per lane
	segLen uint32 // q / SL
	total  uint32 // m' = p * q
	time   uint32 // t

	r, t block // compress's scratch, kept off the stack so as not to be zeroed per call
}

// zeroBlock is the all-zero block of the address generation (§3.4.1.2).
var zeroBlock block

// segment computes the segment of lane in slice of pass (§3.2 steps 5 and
// 6, §3.4).
func (f *filler) segment(pass, slice, lane uint32) {
	// Argon2id indexes data-independently (as Argon2i) for the first two
	// slices of pass 0, data-dependently (as Argon2d) after (§3.4.1).
	independent := pass == 0 && slice < syncPoints/2
	var input, addr, tmp block // zeroed once per segment, not per block
	if independent {
		// Z || LE64(counter) || ZERO(968), §3.4.1.2.
		input[0] = uint64(pass)
		input[1] = uint64(lane)
		input[2] = uint64(slice)
		input[3] = uint64(f.total)
		input[4] = uint64(f.time)
		input[5] = argon2idType
	}
	first := uint32(0)
	if pass == 0 && slice == 0 {
		first = 2 // B[i][0] and B[i][1] are already set
	}
	mem := f.mem
	base := lane * f.q
	for idx := first; idx < f.segLen; idx++ {
		j := slice*f.segLen + idx
		cur := base + j
		prev := cur - 1
		if j == 0 {
			prev = base + f.q - 1
		}

		// §3.4.1: J_1 and J_2, as the low and high halves of one
		// 64-bit word.
		var rnd uint64
		if independent {
			if idx == first || idx%blockWords == 0 {
				input[6]++
				compress(&tmp, &zeroBlock, &input, &f.r, &f.t, false)
				compress(&addr, &zeroBlock, &tmp, &f.r, &f.t, false)
			}
			rnd = addr[idx%blockWords]
		} else {
			rnd = mem[prev][0]
		}
		j1, j2 := uint32(rnd), uint32(rnd>>32)

		// §3.4.2: the reference lane l and the size of the reference
		// set W in it.
		refLane := j2 % f.lanes
		if pass == 0 && slice == 0 {
			refLane = lane
		}
		var area uint32
		switch {
		case pass == 0 && refLane == lane:
			// Every block of this lane computed so far but B[i][j-1].
			area = j - 1
		case pass == 0:
			// The segments lane l finished in earlier slices.
			area = slice * f.segLen
		case refLane == lane:
			// All but the current segment, up to B[i][j-2].
			area = f.q - f.segLen + idx - 1
		default:
			// All of lane l but its segment in this slice.
			area = f.q - f.segLen
		}
		if refLane != lane && idx == 0 {
			area-- // W loses its last block at a segment's start
		}
		x := uint64(j1) * uint64(j1) >> 32
		y := uint64(area) * x >> 32
		rel := area - 1 - uint32(y)
		// W starts at the beginning of the lane in pass 0, and after
		// the current segment in later passes.
		var start uint32
		if pass != 0 && slice != syncPoints-1 {
			start = (slice + 1) * f.segLen
		}
		z := (start + rel) % f.q

		compress(&mem[cur], &mem[prev], &mem[refLane*f.q+z], &f.r, &f.t, pass != 0)
		if idx%yieldEvery == yieldEvery-1 {
			runtime.Gosched()
		}
	}
}

// yieldEvery is how many blocks a hash computes (about 0.15 milliseconds
// of work) before it lets other goroutines run. While every processor
// hashes, a request would otherwise wait for the scheduler to preempt a
// hash, which it does only every 10 ms: a flood's refusals took 10–40 ms
// instead of about one.
const yieldEvery = 256

// compress sets out to G(x, y) (§3.5), or XORs G(x, y) into out when xor
// is set (§3.2 step 6: passes after the first, version 1.3). out may be x
// or y: it is written only after both are read. r and t are scratch.
//
// G is R = x XOR y, then the permutation P on each row of R's 8×8
// 16-byte registers giving Q, then P on each column of Q giving Z, and
// out = Z XOR R. The XOR with R is done as each column is finished.
func compress(out, x, y, r, t *block, xor bool) {
	for i := 0; i < 8; i++ {
		roundRow((*[16]uint64)(x[16*i:]), (*[16]uint64)(y[16*i:]), (*[16]uint64)(r[16*i:]), (*[16]uint64)(t[16*i:]))
	}
	// Column i: registers i, i+8, ..., i+56, that is words 2i, 2i+1,
	// 2i+16, 2i+17, ..., 2i+112, 2i+113.
	for i := 0; i < 8; i++ {
		tc, rc, oc := (*[114]uint64)(t[2*i:]), (*[114]uint64)(r[2*i:]), (*[114]uint64)(out[2*i:])
		if xor {
			roundColXor(tc, rc, oc)
		} else {
			roundCol(tc, rc, oc)
		}
	}
}

// The round functions below apply the permutation P of §3.6 to 16 words
// v_0..v_15: G (BlaMka: BLAKE2b's G with each addition a + b replaced by
// a + b + 2 * trunc(a) * trunc(b)) on the columns (v_0, v_4, v_8, v_12)
// ... (v_3, v_7, v_11, v_15), then on the diagonals (v_0, v_5, v_10, v_15)
// ... (v_3, v_4, v_9, v_14). G is written out in full (the compiler would
// not inline it) and the words are reached through fixed-size arrays at
// constant offsets, so that they run without calls or bounds checks. The
// three copies (row, column, column XOR) are deliberate: one permute
// function shared by them, on a [16]uint64, made a hash 75% slower
// (BenchmarkArgon2, 22 → 40 ms).

// roundRow computes one row of G: it sets r to x XOR y and t to P(r), on
// 16 contiguous words (a row of eight 16-byte registers).
func roundRow(x, y, r, t *[16]uint64) {
	v0, v1, v2, v3, v4, v5, v6, v7 := x[0]^y[0], x[1]^y[1], x[2]^y[2], x[3]^y[3], x[4]^y[4], x[5]^y[5], x[6]^y[6], x[7]^y[7]
	v8, v9, v10, v11, v12, v13, v14, v15 := x[8]^y[8], x[9]^y[9], x[10]^y[10], x[11]^y[11], x[12]^y[12], x[13]^y[13], x[14]^y[14], x[15]^y[15]
	r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = v0, v1, v2, v3, v4, v5, v6, v7
	r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15] = v8, v9, v10, v11, v12, v13, v14, v15
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -32)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -24)
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -16)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -63)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -32)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -24)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -16)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -63)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -32)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -24)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -16)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -63)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -32)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -24)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -16)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -63)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -32)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -24)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -16)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -63)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -32)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -24)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -16)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -63)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -32)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -24)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -16)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -63)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -32)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -24)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -16)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -63)
	t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7] = v0, v1, v2, v3, v4, v5, v6, v7
	t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15] = v8, v9, v10, v11, v12, v13, v14, v15
}

// roundCol computes one column of G: with v the words of t at offsets 0,
// 1, 16, 17, ..., 112, 113 (a column of 16-byte registers), it sets the
// same words of out to P(v) XOR r.
func roundCol(t, r, out *[114]uint64) {
	v0, v1, v2, v3, v4, v5, v6, v7 := t[0], t[1], t[16], t[17], t[32], t[33], t[48], t[49]
	v8, v9, v10, v11, v12, v13, v14, v15 := t[64], t[65], t[80], t[81], t[96], t[97], t[112], t[113]
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -32)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -24)
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -16)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -63)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -32)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -24)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -16)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -63)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -32)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -24)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -16)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -63)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -32)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -24)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -16)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -63)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -32)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -24)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -16)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -63)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -32)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -24)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -16)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -63)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -32)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -24)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -16)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -63)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -32)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -24)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -16)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -63)
	out[0], out[1], out[16], out[17], out[32], out[33], out[48], out[49] = v0^r[0], v1^r[1], v2^r[16], v3^r[17], v4^r[32], v5^r[33], v6^r[48], v7^r[49]
	out[64], out[65], out[80], out[81], out[96], out[97], out[112], out[113] = v8^r[64], v9^r[65], v10^r[80], v11^r[81], v12^r[96], v13^r[97], v14^r[112], v15^r[113]
}

// roundColXor is roundCol XORing P(v) XOR r into out.
func roundColXor(t, r, out *[114]uint64) {
	v0, v1, v2, v3, v4, v5, v6, v7 := t[0], t[1], t[16], t[17], t[32], t[33], t[48], t[49]
	v8, v9, v10, v11, v12, v13, v14, v15 := t[64], t[65], t[80], t[81], t[96], t[97], t[112], t[113]
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -32)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -24)
	v0 += v4 + 2*uint64(uint32(v0))*uint64(uint32(v4))
	v12 = bits.RotateLeft64(v12^v0, -16)
	v8 += v12 + 2*uint64(uint32(v8))*uint64(uint32(v12))
	v4 = bits.RotateLeft64(v4^v8, -63)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -32)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -24)
	v1 += v5 + 2*uint64(uint32(v1))*uint64(uint32(v5))
	v13 = bits.RotateLeft64(v13^v1, -16)
	v9 += v13 + 2*uint64(uint32(v9))*uint64(uint32(v13))
	v5 = bits.RotateLeft64(v5^v9, -63)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -32)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -24)
	v2 += v6 + 2*uint64(uint32(v2))*uint64(uint32(v6))
	v14 = bits.RotateLeft64(v14^v2, -16)
	v10 += v14 + 2*uint64(uint32(v10))*uint64(uint32(v14))
	v6 = bits.RotateLeft64(v6^v10, -63)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -32)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -24)
	v3 += v7 + 2*uint64(uint32(v3))*uint64(uint32(v7))
	v15 = bits.RotateLeft64(v15^v3, -16)
	v11 += v15 + 2*uint64(uint32(v11))*uint64(uint32(v15))
	v7 = bits.RotateLeft64(v7^v11, -63)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -32)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -24)
	v0 += v5 + 2*uint64(uint32(v0))*uint64(uint32(v5))
	v15 = bits.RotateLeft64(v15^v0, -16)
	v10 += v15 + 2*uint64(uint32(v10))*uint64(uint32(v15))
	v5 = bits.RotateLeft64(v5^v10, -63)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -32)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -24)
	v1 += v6 + 2*uint64(uint32(v1))*uint64(uint32(v6))
	v12 = bits.RotateLeft64(v12^v1, -16)
	v11 += v12 + 2*uint64(uint32(v11))*uint64(uint32(v12))
	v6 = bits.RotateLeft64(v6^v11, -63)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -32)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -24)
	v2 += v7 + 2*uint64(uint32(v2))*uint64(uint32(v7))
	v13 = bits.RotateLeft64(v13^v2, -16)
	v8 += v13 + 2*uint64(uint32(v8))*uint64(uint32(v13))
	v7 = bits.RotateLeft64(v7^v8, -63)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -32)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -24)
	v3 += v4 + 2*uint64(uint32(v3))*uint64(uint32(v4))
	v14 = bits.RotateLeft64(v14^v3, -16)
	v9 += v14 + 2*uint64(uint32(v9))*uint64(uint32(v14))
	v4 = bits.RotateLeft64(v4^v9, -63)
	out[0], out[1], out[16], out[17], out[32], out[33], out[48], out[49] = out[0]^v0^r[0], out[1]^v1^r[1], out[16]^v2^r[16], out[17]^v3^r[17], out[32]^v4^r[32], out[33]^v5^r[33], out[48]^v6^r[48], out[49]^v7^r[49]
	out[64], out[65], out[80], out[81], out[96], out[97], out[112], out[113] = out[64]^v8^r[64], out[65]^v9^r[65], out[80]^v10^r[80], out[81]^v11^r[81], out[96]^v12^r[96], out[97]^v13^r[97], out[112]^v14^r[112], out[113]^v15^r[113]
}

// argon2id hashes in the buffer of the slot the caller holds (between
// acquire and release), with no secret or associated data.
func (h *Hasher) argon2id(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	buf := <-h.buffers // never waits: there are as many buffers as slots
	defer func() { h.buffers <- buf }()
	return idKey(buf, pw, salt, nil, nil, time, memory, threads, keyLen)
}

// newBuffers returns the buffers of n slots hashing with p.
func newBuffers(p Params, n int) chan *buffer {
	c := make(chan *buffer, n)
	for range n {
		c <- newBuffer(p.Memory, p.Threads)
	}
	return c
}
