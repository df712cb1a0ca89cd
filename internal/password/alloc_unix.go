//go:build unix

package password

import (
	"syscall"
	"unsafe"
)

// allocBlocks returns n blocks of memory outside the Go heap, mapped
// anonymously from the kernel, kept for the life of the process (a hashing
// slot's buffer). Outside the heap, the slots' buffers neither double the
// garbage collector's heap goal (which counts live heap: with 2 × 19 MiB of
// buffers live it let the heap grow by as much again before collecting) nor
// need scanning. The pages become resident when first written. Blocks hold
// no pointers, so the collector need not know of them.
func allocBlocks(n int) []block {
	mem, err := syscall.Mmap(-1, 0, n*int(unsafe.Sizeof(block{})), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]block, n) // no mapping to be had: the heap will do
	}
	return unsafe.Slice((*block)(unsafe.Pointer(unsafe.SliceData(mem))), n)
}
