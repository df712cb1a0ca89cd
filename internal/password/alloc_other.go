//go:build !unix

package password

// allocBlocks returns n blocks from the Go heap.
func allocBlocks(n int) []block { return make([]block, n) }
