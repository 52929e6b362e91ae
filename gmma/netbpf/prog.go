package netbpf

import "encoding/binary"

// eBPF instruction encoding (linux/bpf_common.h, linux/bpf.h).
const (
	insnSize = 8

	clsLD    = 0x00
	clsLDX   = 0x01
	clsST    = 0x02
	clsSTX   = 0x03
	clsJMP   = 0x05
	clsALU64 = 0x07

	szW  = 0x00
	szDW = 0x18

	modeIMM    = 0x00
	modeMEM    = 0x60
	modeATOMIC = 0xc0

	srcK = 0x00
	srcX = 0x08

	opADD  = 0x00
	opMOV  = 0xb0
	opJEQ  = 0x10
	opCALL = 0x80
	opEXIT = 0x90

	pseudoMapFD     = 1
	helperLookupMap = 1 // bpf_map_lookup_elem

	offSkbLen = 0 // offsetof(struct __sk_buff, len)
)

// Slots of the counter map and the layout of one value.
const (
	slotIngress = 0
	slotEgress  = 1
	valueSize   = 16 // u64 bytes, u64 packets
)

type insn struct {
	code     uint8
	dst, src uint8
	off      int16
	imm      int32
}

func (i insn) put(b []byte) {
	b[0] = i.code
	b[1] = i.dst | i.src<<4
	binary.LittleEndian.PutUint16(b[2:], uint16(i.off))
	binary.LittleEndian.PutUint32(b[4:], uint32(i.imm))
}

// countProg is, in C:
//
//	u32 key = slot;
//	u64 *v = bpf_map_lookup_elem(&map, &key);
//	if (v) { __sync_fetch_and_add(&v[0], skb->len); __sync_fetch_and_add(&v[1], 1); }
//	return 1;
func countProg(mapFd int, slot int32) []byte {
	prog := []insn{
		{code: clsALU64 | opMOV | srcX, dst: 6, src: 1},                             // r6 = r1 (ctx)
		{code: clsST | modeMEM | szW, dst: 10, off: -4, imm: slot},                  // *(u32 *)(fp-4) = slot
		{code: clsLD | modeIMM | szDW, dst: 1, src: pseudoMapFD, imm: int32(mapFd)}, // r1 = map
		{}, // (second half of ld_imm64)
		{code: clsALU64 | opMOV | srcX, dst: 2, src: 10},                       // r2 = fp
		{code: clsALU64 | opADD | srcK, dst: 2, imm: -4},                       // r2 -= 4
		{code: clsJMP | opCALL, imm: helperLookupMap},                          // r0 = lookup(r1, r2)
		{code: clsJMP | opJEQ | srcK, dst: 0, off: 4, imm: 0},                  // if !r0 goto out
		{code: clsLDX | modeMEM | szW, dst: 1, src: 6, off: offSkbLen},         // r1 = skb->len
		{code: clsSTX | modeATOMIC | szDW, dst: 0, src: 1, imm: opADD},         // lock *(u64 *)(r0+0) += r1
		{code: clsALU64 | opMOV | srcK, dst: 1, imm: 1},                        // r1 = 1
		{code: clsSTX | modeATOMIC | szDW, dst: 0, src: 1, off: 8, imm: opADD}, // lock *(u64 *)(r0+8) += r1
		{code: clsALU64 | opMOV | srcK, dst: 0, imm: 1},                        // out: r0 = 1 (pass)
		{code: clsJMP | opEXIT},                                                // return r0
	}
	b := make([]byte, len(prog)*insnSize)
	for i, in := range prog {
		in.put(b[i*insnSize:])
	}
	return b
}
